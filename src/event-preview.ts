// One line that says what an event is about, for lists: `text "Hello"`, `status read`,
// `state authorized`. Made from the normalized data, so every store and page shows the same.

export interface PreviewParts {
  kind: string | null;
  text: string | null;
  status: string | null;
  state: string | null;
}

const MAX = 80;

export function preview({ kind, text, status, state }: PreviewParts): string | null {
  if (kind) return text ? `${kind} "${text.length > MAX ? `${text.slice(0, MAX)}…` : text}"` : kind;
  if (status) return `status ${status}`;
  if (state) return `state ${state}`;
  return null;
}

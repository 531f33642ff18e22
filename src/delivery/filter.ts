// Which targets an event goes to (contract §5): `types` (exact or "prefix.*"), `instances` and
// `chats`; an absent filter matches everything. Compiled once per config, run once per event.
import type { TargetConfig } from '../config.ts';
import { typeMatcher, type EventAttributes } from '../event.ts';

export type TargetMatcher = (event: EventAttributes) => string[];

export function createTargetMatcher(targets: readonly TargetConfig[]): TargetMatcher {
  const filters = targets.map((target) => {
    const types = target.types?.map(typeMatcher);
    const instances = target.instances && new Set(target.instances);
    const chats = target.chats && new Set(target.chats);
    return (event: EventAttributes) =>
      (!types || types.some((matches) => matches(event.type))) &&
      (!instances || instances.has(event.greenapiinstance)) &&
      (!chats || (event.subject !== undefined && chats.has(event.subject)));
  });
  return (event) => targets.filter((_, i) => filters[i]!(event)).map((target) => target.name);
}

// Content filters of targets (contract §7): `where`, a small MongoDB-like query over any field of
// the event by dotted path, compiled once at start-up and run once per event at ingest.
//
//   "where": { "data.message.kind": "text", "data.chat.isGroup": false,
//              "data.sender.id": { "$in": ["79001234567@c.us"] },
//              "$or": [ { "data.message.text": { "$contains": "order" } }, { "greenapiinstance": "1101000001" } ] }
//
// A field's value is a literal (equality) or an object of operators: $eq $ne $in $nin $exists
// $startsWith $contains $regex (with $flags) $not; at the top, or inside $and/$or/$not, $and
// $or $not combine whole filters. Paths are checked against the fields events have, so that a
// typo fails the start instead of silently matching nothing.

export type EventPredicate = (event: unknown) => boolean;

export interface WhereIssue {
  path: (string | number)[];
  message: string;
}

/** `*`: any key below (raw notifications, contacts, polls). */
type Fields = { [key: string]: Fields | true | '*' };

/** The fields an event has (contract §2 and the relay's own events), for checking paths. */
const EVENT_FIELDS: Fields = {
  specversion: true,
  id: true,
  source: true,
  type: true,
  subject: true,
  time: true,
  datacontenttype: true,
  greenapiinstance: true,
  greenapiwebhook: true,
  data: {
    webhook: true,
    instance: { id: true, wid: true, kind: true },
    receivedAt: true,
    recovered: true,
    chat: { id: true, name: true, isGroup: true, type: true },
    sender: { id: true, name: true, contactName: true },
    message: {
      id: true,
      typeMessage: true,
      kind: true,
      sentBy: true,
      text: true,
      media: { url: true, mimeType: true, fileName: true, caption: true, videoNote: true, archivedUrl: true },
      location: { latitude: true, longitude: true, name: true, address: true },
      contacts: '*',
      replyTo: { id: true, participant: true, media: '*' },
      forwarded: true,
      poll: '*',
      choice: { id: true, text: true },
    },
    status: { messageId: true, value: true, description: true, sentByApi: true },
    state: true,
    call: { id: true, from: true, status: true, isVideo: true, duration: true },
    quota: { method: true, used: true, total: true, status: true, description: true },
    raw: '*',
    // The relay's own events (com.green-relay.*).
    alert: true,
    text: true,
    target: true,
    count: true,
    details: '*',
  },
};

const FIELD_OPERATORS = new Set([
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$exists',
  '$startsWith',
  '$contains',
  '$regex',
  '$flags',
  '$not',
]);
/** Text a $regex or $contains looks at: the first this many characters. */
const MAX_TEXT = 10_000;
const MAX_PATTERN = 256;

/** Why a pattern could take exponential time (or null): backreferences, lookbehind, a quantified group holding a quantifier. */
export function unsafePattern(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN) return `is longer than ${MAX_PATTERN} characters`;
  if (/\\[1-9]|\\k</.test(pattern)) return 'uses a backreference';
  if (/\(\?<[=!]/.test(pattern)) return 'uses a lookbehind';
  // A group with a quantifier inside, itself quantified: (a+)+, (a|aa)*, (.*x)*, (a{2,})+
  if (/\((?:[^()\\]|\\.)*(?:[*+]|\{\d+,?\d*\})(?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,?\d*\})/.test(pattern))
    return 'nests a quantifier inside a quantified group';
  // Alternatives inside a quantified group can overlap: (a|a)*
  if (/\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,?\d*\})/.test(pattern))
    return 'quantifies a group of alternatives';
  return null;
}

function checkPath(path: string): string | null {
  let fields: Fields | true | '*' = EVENT_FIELDS;
  const keys = path.split('.');
  for (const [i, key] of keys.entries()) {
    if (fields === '*') return null;
    if (fields === true) return `has no field "${key}" below it`;
    const next: Fields | true | '*' | undefined = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (next === undefined) {
      const near = Object.keys(fields).filter(
        (k) => k.toLowerCase() === key.toLowerCase() || k.startsWith(key.slice(0, 3)),
      );
      const spelled = near.map((k) => `"${[...keys.slice(0, i), k, ...keys.slice(i + 1)].join('.')}"`);
      return `is not a field of events${spelled.length > 0 ? ` (did you mean ${spelled.join(' or ')}?)` : ''}`;
    }
    fields = next;
  }
  return null;
}

function valueAt(event: unknown, path: readonly string[]): unknown {
  let value = event;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const isLiteral = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const same = (a: unknown, b: unknown) =>
  isLiteral(a) || isLiteral(b) ? a === b : JSON.stringify(a) === JSON.stringify(b);

/** Compiles a filter; every problem comes back with its path below `where`. */
export function compileWhere(where: unknown): { test: EventPredicate; issues: WhereIssue[] } {
  const issues: WhereIssue[] = [];
  const test = compileFilter(where, [], issues);
  return { test, issues };
}

function compileFilter(where: unknown, at: (string | number)[], issues: WhereIssue[]): EventPredicate {
  if (where === null || typeof where !== 'object' || Array.isArray(where)) {
    issues.push({ path: at, message: 'must be an object of field paths and conditions' });
    return () => false;
  }
  const parts: EventPredicate[] = [];
  for (const [key, condition] of Object.entries(where)) {
    const here = [...at, key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) {
        issues.push({ path: here, message: 'must be a non-empty list of filters' });
        continue;
      }
      const each = condition.map((c, i) => compileFilter(c, [...here, i], issues));
      parts.push(key === '$and' ? (e) => each.every((p) => p(e)) : (e) => each.some((p) => p(e)));
    } else if (key === '$not') {
      const inner = compileFilter(condition, here, issues);
      parts.push((e) => !inner(e));
    } else if (key.startsWith('$')) {
      issues.push({ path: here, message: `is not an operator here (use $and, $or, $not, or a field path)` });
    } else {
      const problem = checkPath(key);
      if (problem) issues.push({ path: here, message: problem });
      const path = key.split('.');
      const matches = compileCondition(condition, here, issues);
      parts.push((e) => matches(valueAt(e, path)));
    }
  }
  return (e) => parts.every((p) => p(e));
}

function compileCondition(
  condition: unknown,
  at: (string | number)[],
  issues: WhereIssue[],
): (value: unknown) => boolean {
  const isOperators =
    condition !== null &&
    typeof condition === 'object' &&
    !Array.isArray(condition) &&
    Object.keys(condition).some((k) => k.startsWith('$'));
  if (!isOperators) return (value) => same(value, condition);
  const checks: ((value: unknown) => boolean)[] = [];
  const ops = condition as Record<string, unknown>;
  for (const [op, arg] of Object.entries(ops)) {
    const here = [...at, op];
    if (!FIELD_OPERATORS.has(op)) {
      issues.push({
        path: here,
        message: `is not an operator (${[...FIELD_OPERATORS].filter((o) => o !== '$flags').join(', ')})`,
      });
      continue;
    }
    switch (op) {
      case '$eq':
        checks.push((v) => same(v, arg));
        break;
      case '$ne':
        checks.push((v) => !same(v, arg));
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(arg)) {
          issues.push({ path: here, message: 'must be a list of values' });
          break;
        }
        const inList = (v: unknown) => arg.some((x) => same(v, x));
        checks.push(op === '$in' ? inList : (v) => !inList(v));
        break;
      }
      case '$exists':
        if (typeof arg !== 'boolean') issues.push({ path: here, message: 'must be true or false' });
        checks.push((v) => (v !== undefined && v !== null) === arg);
        break;
      case '$startsWith':
        if (typeof arg !== 'string') issues.push({ path: here, message: 'must be a string' });
        checks.push((v) => typeof v === 'string' && v.startsWith(String(arg)));
        break;
      case '$contains':
        checks.push((v) =>
          typeof v === 'string'
            ? typeof arg === 'string' && v.slice(0, MAX_TEXT).includes(arg)
            : Array.isArray(v) && v.some((x) => same(x, arg)),
        );
        break;
      case '$regex': {
        const flags = ops.$flags ?? '';
        if (typeof arg !== 'string') {
          issues.push({ path: here, message: 'must be a regular expression as a string' });
          break;
        }
        if (typeof flags !== 'string' || !/^[imsu]*$/.test(flags)) {
          issues.push({ path: [...at, '$flags'], message: 'must be made of the flags i, m, s and u' });
          break;
        }
        const unsafe = unsafePattern(arg);
        if (unsafe) {
          issues.push({
            path: here,
            message: `${unsafe}, which could make a filter take exponential time; write it without`,
          });
          break;
        }
        let regex: RegExp;
        try {
          regex = new RegExp(arg, flags);
        } catch (err) {
          issues.push({ path: here, message: `is not a valid regular expression: ${(err as Error).message}` });
          break;
        }
        checks.push((v) => typeof v === 'string' && regex.test(v.slice(0, MAX_TEXT)));
        break;
      }
      case '$flags':
        if (!('$regex' in ops)) issues.push({ path: here, message: 'goes with $regex' });
        break;
      case '$not': {
        const inner = compileCondition(arg, here, issues);
        checks.push((v) => !inner(v));
        break;
      }
    }
  }
  return (value) => checks.every((check) => check(value));
}

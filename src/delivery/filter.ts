// Which targets an event goes to (contract §5 and §7): `types` (exact or "prefix.*"), `instances`,
// `chats` and the content filter `where`; an absent filter matches everything of Green API. The
// relay's own events (com.green-relay.*) go only to targets whose `types` name them: a target
// written for Green API's notifications (a `raw` handler, say) never receives an alert it did not
// ask for. Compiled once per config, run once per event.
import type { TargetConfig } from '../config.ts';
import { typeMatcher } from '../event.ts';
import { compileWhere } from './where.ts';

/** What matching reads of an event: its attributes, and its data for `where`. */
export interface Matchable {
  type: string;
  greenapiinstance?: string;
  subject?: string;
  data?: unknown;
}

export type TargetMatcher = (event: Matchable) => string[];

export function createTargetMatcher(targets: readonly TargetConfig[]): TargetMatcher {
  const filters = targets.map((target) => {
    const types = target.types?.map(typeMatcher);
    const instances = target.instances && new Set(target.instances);
    const chats = target.chats && new Set(target.chats);
    const where = target.where ? compileWhere(target.where).test : null;
    return (event: Matchable) =>
      (types ? types.some((matches) => matches(event.type)) : !event.type.startsWith('com.green-relay.')) &&
      (!instances || (event.greenapiinstance !== undefined && instances.has(event.greenapiinstance))) &&
      (!chats || (event.subject !== undefined && chats.has(event.subject))) &&
      (!where || where(event));
  });
  return (event) => targets.filter((_, i) => filters[i]!(event)).map((target) => target.name);
}

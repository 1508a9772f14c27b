/**
 * What the ingest checks of a decoded batch beyond its envelope schema, before anything reaches
 * PostgreSQL. Pure: a typed refusal naming the field, or null.
 *
 * - The store is the topic's: a store's broker credential should only publish on its own topic
 *   (hq/README.md §Trust), and the header must name that same store, so a batch is never filed
 *   under a store that did not send it.
 * - The header's range is exactly the records' range (lowest `seqFrom ?? seq` to highest `seq`,
 *   which is how the gateway builds it): a header that claims more would move `stores.last_seq`.
 * - `data` nests at most `maxDepth` levels: serialising a deeper value overflows the JavaScript
 *   stack, and PostgreSQL's jsonb stops at its own stack depth limit.
 */
import { seqRangeOf, type BatchHeader, type BatchRecord } from '../../gateway/protocol/envelopes.js';
import { isValidId } from '../../gateway/protocol/topics.js';

export interface BatchRefusal {
  code: 'SGW_ERR_BATCH_STORE' | 'SGW_ERR_BATCH_HEADER' | 'SGW_ERR_BATCH_RECORD';
  reason: string;
  line?: number;
}

/** The topic's store id is a valid id; checked before the payload is even decoded. */
export function checkTopicStore(topicStoreId: string): BatchRefusal | null {
  if (isValidId(topicStoreId)) return null;
  return { code: 'SGW_ERR_BATCH_STORE', reason: `topic: store id "${topicStoreId.slice(0, 80)}" is not a valid store id` };
}

export function checkBatch(topicStoreId: string, header: BatchHeader, records: readonly BatchRecord[], maxDepth: number): BatchRefusal | null {
  if (header.storeId !== topicStoreId) {
    return { code: 'SGW_ERR_BATCH_STORE', reason: `header.storeId: "${header.storeId}" is not the topic's store "${topicStoreId}"`, line: 1 };
  }
  if (records.length > 0) {
    const r = seqRangeOf(records);
    if (r.seqFrom !== header.seqFrom || r.seqTo !== header.seqTo) {
      return { code: 'SGW_ERR_BATCH_HEADER', reason: `header.seqFrom..seqTo: says ${header.seqFrom}..${header.seqTo}, the records cover ${r.seqFrom}..${r.seqTo}`, line: 1 };
    }
  }
  for (let i = 0; i < records.length; i++) {
    if (depthOver(records[i].data, maxDepth)) {
      return { code: 'SGW_ERR_BATCH_RECORD', reason: `records[${i}].data: nests deeper than ${maxDepth} levels`, line: i + 2 };
    }
  }
  return null;
}

/** True when `v` nests arrays/objects deeper than `max`; iterative, so any depth is safe to check. */
export function depthOver(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}

/**
 * aedes's message bus with a guard against a known crash: when more messages queue than the bus's
 * concurrency and their deliveries complete synchronously (no subscriber), mqemitter's
 * release → `_do` → release chain recurses once per queued message and a large backlog throws
 * `RangeError: Maximum call stack size exceeded` (upstream mcollina/mqemitter#204; the maintainer's
 * suggested fix: count same-tick re-entries and defer past a threshold). We do exactly that on
 * this instance: past `maxDepth` nested `_do` calls the next one runs on setImmediate.
 *
 * `_do` is private to mqemitter, so package.json pins mqemitter to one exact version: a release
 * that renames or reshapes it must be a reviewed upgrade (re-run mqGuard.test.ts), never a silent
 * `npm install`.
 */
import MQEmitter from 'mqemitter';

type Emitter = ReturnType<typeof MQEmitter> & { _do: (message: unknown, cb: unknown) => unknown };

export function guardedEmitter(opts: { concurrency?: number; maxDepth?: number } = {}): ReturnType<typeof MQEmitter> {
  const mq = MQEmitter({ concurrency: opts.concurrency ?? 100 }) as Emitter;
  const maxDepth = opts.maxDepth ?? 200;
  const original = mq._do;
  let depth = 0;
  mq._do = function guardedDo(this: Emitter, message: unknown, cb: unknown) {
    if (depth >= maxDepth) {
      setImmediate(() => guardedDo.call(mq, message, cb));
      return mq;
    }
    depth++;
    try {
      return original.call(mq, message, cb);
    } finally {
      depth--;
    }
  };
  return mq;
}

/**
 * Request validators compiled on a route's first request, not all at start-up (the same move as
 * lazySerializers.ts for replies). fastify compiles one ajv function per route and request part
 * (body, querystring, params, headers) when it starts, a large share of a gateway start's CPU, and
 * most routes see no request for minutes after a (re)start. The compiler is fastify's default
 * (@fastify/ajv-compiler, resolved from fastify's own folder) with the options fastify passes; only
 * the moment of compiling moves, so what a route accepts and the errors it reports are the same.
 *
 * A schema that does not compile would now fail its first request instead of the start:
 * `compileAll` compiles every one still pending (a test calls it on the whole gateway's route
 * table, so a broken schema still fails the suite).
 */
import { createRequire } from 'node:module';

interface RouteValidation {
  schema?: unknown;
  method: string;
  url: string;
  httpPart?: string;
  contentType?: string;
}
type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type ValidatorCompiler = (route: RouteValidation) => Validate;
/** fastify's `schemaController.compilersFactory.buildValidator`. */
export type BuildValidator = (externalSchemas: unknown, ajvOptions: unknown) => ValidatorCompiler;

export interface LazyValidators {
  /** The `schemaController.compilersFactory.buildValidator` option for Fastify(). */
  build: BuildValidator;
  /** Compiles every validator not compiled yet; returns how many; throws the first schema error. */
  compileAll: () => number;
}

export function lazyValidators(): LazyValidators {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  const selector = fromFastify('@fastify/ajv-compiler') as () => BuildValidator;
  const factory = selector();
  const waiting = new Set<() => Validate>();
  const build: BuildValidator = (externalSchemas, ajvOptions) => {
    const compile = factory(externalSchemas, ajvOptions);
    return (route) => {
      let validate: Validate | undefined;
      const ready = (): Validate => {
        if (!validate) {
          validate = compile(route);
          waiting.delete(ready);
        }
        return validate;
      };
      waiting.add(ready);
      // fastify reads `.errors` off the function it holds after a `false`; ajv sets it on its own.
      const lazy: Validate = (data) => {
        const v = ready();
        const ok = v(data);
        lazy.errors = v.errors;
        return ok;
      };
      return lazy;
    };
  };
  return {
    build,
    compileAll: () => {
      const all = [...waiting];
      for (const ready of all) ready();
      return all.length;
    },
  };
}

/**
 * Response serializers built on a route's first reply with a given status, not all at start-up.
 * fastify compiles one fast-json-stringify function per route and status when it starts; our routes
 * declare their refusals (400, 401, 403, 404, 409 …) beside the answer, so a start built several
 * hundred of them, about 15 % of a gateway start's CPU, most of which no request ever uses. The
 * compiler is fastify's own default (the package fastify itself loads, resolved from fastify's
 * folder, fastify/lib/schema-controller.js), with the options fastify passes: only the moment of
 * compiling moves, the bytes written are the same.
 */
import { createRequire } from 'node:module';

type Serialize = (data: unknown) => string;
/** What fastify passes a serializer compiler for one route and status (fastify's `FastifySerializerCompiler`). */
interface RouteSchema {
  schema?: unknown;
  method: string;
  url: string;
  httpStatus: string;
  contentType?: string;
}
type SerializerCompiler = (route: RouteSchema) => Serialize;
/** fastify's `schemaController.compilersFactory.buildSerializer`. */
export type BuildSerializer = (externalSchemas: unknown, serializerOpts: unknown) => SerializerCompiler;

/** The `schemaController.compilersFactory.buildSerializer` option for Fastify(). */
export function lazySerializers(): BuildSerializer {
  const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
  const selector = fromFastify('@fastify/fast-json-stringify-compiler') as { SerializerSelector: () => BuildSerializer };
  const build = selector.SerializerSelector();
  return (externalSchemas, serializerOpts) => {
    const compile = build(externalSchemas, serializerOpts);
    return (route) => {
      let serialize: Serialize | undefined;
      return (data) => (serialize ??= compile(route))(data);
    };
  };
}

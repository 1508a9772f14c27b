/**
 * fastify's type provider for TypeBox, in a few lines instead of a dependency: a route's `schema`
 * (body, params, querystring, response) types its handler's `req` and its reply, so a handler
 * never casts what ajv has already checked. The same idea as @fastify/type-provider-typebox's
 * `TypeBoxTypeProvider` (fastify's docs, "Type Providers"), which adds nothing else we use.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyPluginOptions, FastifyTypeProvider, RawServerDefault } from 'fastify';

export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** A route plugin whose handlers are typed by their TypeBox schemas. */
export type TypedRoutes<Deps extends FastifyPluginOptions = Record<never, never>> = FastifyPluginAsync<Deps, RawServerDefault, TypeBoxProvider>;

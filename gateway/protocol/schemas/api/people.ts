/** Login, `GET /api/me`, and the ops users an admin manages (`/api/admin/users`, `/api/me/password`). */
import { Type, type Static } from '@sinclair/typebox';
import { NullableMs, NullableString, RoleSchema } from './common.js';

/** Where a person is kept: the config file's users change their password there, not on the page. */
export const UserSource = Type.Union([Type.Literal('config'), Type.Literal('store')]);

export const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
/** The answer to a login and to `GET /api/me`: who is logged in, with which role. */
export const Me = Type.Object({ username: Type.String(), role: RoleSchema, source: UserSource });
export type MeBody = Static<typeof Me>;

/** One row of `GET /api/admin/users`. */
export const OpsUserViewSchema = Type.Object({
  username: Type.String(),
  role: RoleSchema,
  source: UserSource,
  disabled: Type.Boolean(),
  createdAt: NullableMs,
  createdBy: NullableString,
});
export type OpsUserView = Static<typeof OpsUserViewSchema>;

export const UserList = Type.Object({ users: Type.Array(OpsUserViewSchema), writable: Type.Boolean() });
export type UserListBody = Static<typeof UserList>;
/** A new user: the generated password is in this answer only. */
export const UserAdded = Type.Object({ username: Type.String(), password: Type.String() });
export type UserAddedBody = Static<typeof UserAdded>;
/** The user after a change; `password` only after a reset (shown once). */
export const UserChanged = Type.Composite([OpsUserViewSchema, Type.Object({ password: Type.Optional(Type.String()) })]);
export type UserChangedBody = Static<typeof UserChanged>;
export const PasswordChanged = Type.Object({ ok: Type.Literal(true), otherSessionsEnded: Type.Integer({ minimum: 0 }) });
export type PasswordChangedBody = Static<typeof PasswordChanged>;
export const RoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });

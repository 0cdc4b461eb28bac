import { z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";

/** Emails, trimmed (pasted addresses carry spaces); RFC 5321 caps an address at 254 characters. */
export const Email = z
  .string()
  .trim()
  .pipe(z.email({ message: "Must be an email address" }).max(254))
  .openapi({ type: "string", format: "email", maxLength: 254, example: "ada@example.com" });

/**
 * A password as sent. 1,024 characters is far above any policy, and rejecting longer input here
 * means a 10 KB "password" is refused before any hashing work.
 */
export const PasswordInput = z.string().min(1).max(1024).openapi({ format: "password" });

export const Metadata = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 8192, { message: "Metadata must be at most 8 KB of JSON" })
  .openapi({ description: "Free-form JSON the user may edit (≤ 8 KB)." });

/**
 * A whole number from a query string, in decimal digits only: `Number()` (and so `z.coerce`) would
 * also read "0x10", " 1", "1e1" and "" (as 0), which no client means. Anything else is a 400.
 */
export const QueryInteger = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && /^[0-9]{1,10}$/.test(value) ? Number(value) : value),
    z.number().int().min(min).max(max),
  );

/** A list's page size: 1 to 200 (each list has its own default). */
export const PageLimit = QueryInteger(1, 200);

/** One page of a keyset-paged list: the items and the cursor for the next page (null at the end). */
export const pageOf = <Item extends z.ZodType>(item: Item) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/** What a user (or an operator, for them) may change on a profile; anything else is a 400. */
export const ProfileChanges = z
  .object({
    name: z.string().trim().min(1).max(200).nullable().optional(),
    avatarUrl: z
      .url({ protocol: /^https?$/, message: "Must be an http(s) URL" })
      .max(2048)
      .nullable()
      .optional(),
    metadata: Metadata.optional(),
  })
  .strict();

export const User = z
  .object({
    id: z.string().openapi({ example: "usr_01m80vsrdweg5af65ybwzm0tmk" }),
    email: z.string(),
    name: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    status: z.enum(["active", "suspended", "deleted", "invited"]),
    emailVerified: z.boolean(),
    emailVerifiedAt: z.string().nullable(),
    lastSignInAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("User");

export const Session = z
  .object({
    id: z.string().openapi({ example: "ses_01m80vsrdweg5af65ybwzm0tmk" }),
    createdAt: z.string(),
    expiresAt: z.string(),
    idleExpiresAt: z.string(),
    lastActiveAt: z.string(),
    userAgent: z.string().nullable(),
    authMethods: z.array(z.string()),
    authenticatedAt: z.string(),
    current: z.boolean(),
    restricted: z.boolean().openapi({
      description:
        "True while policy requires a second factor this user has not set up: the session can only enrol one.",
    }),
    impersonatedBy: z.string().nullable().openapi({
      description:
        "For a session an operator started to act as the user (30 minutes, no step-up): the operator's user id. Show a banner while it is set.",
    }),
  })
  .openapi("Session");

export const SignedIn = z
  .object({
    user: User,
    session: Session,
    sessionToken: z.string().optional().openapi({
      description:
        "`ses_<id>.<secret>`, only for clients that send `X-Burrow-Client: bearer` (browsers get the HttpOnly cookie alone). Send as `Authorization: Bearer`.",
    }),
  })
  .openapi("SignedIn");

export const MfaRequired = z
  .object({
    mfaRequired: z.literal(true),
    mfaToken: z.string().openapi({ description: "Good for 5 minutes and 5 tries, only at POST /v1/auth/mfa/verify." }),
    methods: z.array(z.string()).openapi({ example: ["totp", "recovery_code"] }),
  })
  .openapi("MfaRequired");

/** A sign-in's answer: a session, or a second factor to give. */
/** Access and refresh tokens (the token grants, and an app's social-login exchange when it asks). */
export const TokenResponse = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int(),
    refreshToken: z.string().optional(),
  })
  .openapi("TokenResponse");

export const SignInAnswer = z.union([SignedIn.extend({ redirectTo: z.string().nullable() }), MfaRequired]);

export const SessionIdParam = z.object({
  sessionId: idSchema("session").openapi({
    param: { name: "sessionId", in: "path" },
    type: "string",
    example: "ses_01m80vsrdweg5af65ybwzm0tmk",
  }),
});

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string().optional(),
  })
  .openapi("Problem");

/** Standard problem responses for a route's OpenAPI description. */
export function problems(
  ...statuses: number[]
): Record<number, { description: string; content: { "application/problem+json": { schema: typeof Problem } } }> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: "Problem", content: { "application/problem+json": { schema: Problem } } },
    ]),
  );
}

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});
export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const Phone = z
  .object({
    id: z.string(),
    phone: z.string(),
    isPrimary: z.boolean(),
    verifiedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Phone");

/** One of an account's email addresses (the primary one has no id: it lives on the account). */
export const AccountEmail = z
  .object({
    id: z.string().nullable().openapi({ description: "Null for the primary address." }),
    email: z.string(),
    primary: z.boolean(),
    verified: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("AccountEmail");

export const E164Phone = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, "Must be an E.164 number such as +14155550123")
  .openapi({ example: "+14155550123" });

/**
 * How an operation's caller proves who they are, as OpenAPI security requirements (the schemes are
 * declared once, in `securitySchemes`). A route's handler decides; these describe it for clients.
 */
export const securitySchemes = {
  sessionCookie: {
    type: "apiKey",
    in: "cookie",
    name: "burrow_session",
    description: "The session cookie set by a browser sign-in (`__Host-burrow_session` over https).",
  },
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    description: "A session token (`ses_…`) or a short-lived access token (a JWT from `POST /v1/auth/token`).",
  },
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "An API key (`bk_…`), also accepted as `Authorization: Bearer bk_…`; limited to its scopes.",
  },
} as const;
/** A signed-in user: the session cookie, a session token or an access token. */
type SecurityRequirement = Record<keyof typeof securitySchemes, string[]>;
export const signedIn: Partial<SecurityRequirement>[] = [{ sessionCookie: [] }, { bearerAuth: [] }];
/** A signed-in user, or an API key holding the operation's scope. */
export const signedInOrApiKey: Partial<SecurityRequirement>[] = [...signedIn, { apiKey: [] }];
/** An API key only (a service asking about a token). */
export const apiKeyOnly: Partial<SecurityRequirement>[] = [{ apiKey: [] }];

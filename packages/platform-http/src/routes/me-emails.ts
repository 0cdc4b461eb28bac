import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import { requireSession } from "../authenticate/index.ts";
import type { Platform } from "../compose/platform.ts";
import type { AppEnv } from "../env.ts";
import { AccountEmail, jsonBody, jsonContent, problems, signedIn } from "../schemas.ts";

// An account's email addresses: the primary one (on the account) and the others it has added.
const tags = ["Profile"];

const EmailParam = z.object({
  emailId: idSchema("email").openapi({ param: { name: "emailId", in: "path" }, type: "string" }),
});

const listEmails = createRoute({
  operationId: "listEmails",
  security: signedIn,
  method: "get",
  path: "/v1/me/emails",
  tags,
  summary: "The caller's email addresses, primary first",
  responses: { 200: jsonContent(z.object({ data: z.array(AccountEmail) }), "Addresses"), ...problems(401, 403) },
});

const addEmail = createRoute({
  operationId: "addEmail",
  security: signedIn,
  method: "post",
  path: "/v1/me/emails",
  tags,
  summary: "Add another address (recent re-authentication required)",
  description:
    "Mails the address a confirmation link and the primary address a notice. An address another account has verified is answered the same way and gets no mail: it can never be confirmed here. Limited to 5 additions per 10 minutes.",
  request: { body: jsonBody(z.object({ email: z.string().max(320) }).strict()) },
  responses: { 201: jsonContent(AccountEmail, "Added, unverified"), ...problems(400, 401, 403, 409, 415, 429) },
});

const confirmEmail = createRoute({
  operationId: "confirmAddedEmail",
  security: [],
  method: "post",
  path: "/v1/auth/email/confirm",
  tags: ["Email and recovery"],
  summary: "Confirm an added address with the emailed token",
  description:
    "The link works once, for 24 hours, and only while the address is still on the account. Confirming ends every unverified claim on the address: another account's added one, and an account that signed up with it and never proved it.",
  request: { body: jsonBody(z.object({ token: z.string().min(1).max(200) }).strict()) },
  responses: { 200: jsonContent(AccountEmail, "Confirmed"), ...problems(400, 415) },
});

const makePrimary = createRoute({
  operationId: "makeEmailPrimary",
  security: signedIn,
  method: "post",
  path: "/v1/me/emails/{emailId}/primary",
  tags,
  summary: "Make a verified address primary (recent re-authentication required)",
  description:
    "Mail for the account goes to the primary address, and tokens, webhooks and the admin app show it. The old primary address stays as another one; both are told of the change.",
  request: { params: EmailParam },
  responses: { 200: jsonContent(AccountEmail, "The new primary address"), ...problems(400, 401, 403, 404, 409) },
});

const removeEmail = createRoute({
  operationId: "removeEmail",
  security: signedIn,
  method: "delete",
  path: "/v1/me/emails/{emailId}",
  tags,
  summary: "Remove an added address (recent re-authentication required)",
  description:
    "The primary address is not in the list of removable ones (make another primary first), and the account's only verified address stays.",
  request: { params: EmailParam },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 409) },
});

export function meEmailRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { emails } = platform.auth;
  return new OpenAPIHono<AppEnv>()
    .openapi(listEmails, async (c) => {
      const caller = await requireSession(c);
      return c.json({ data: await emails.list(platform.db, caller.user.id) }, 200);
    })
    .openapi(addEmail, async (c) => {
      const caller = await requireSession(c);
      return c.json(await emails.add(caller.session, c.req.valid("json").email, c.get("requestContext")), 201);
    })
    .openapi(confirmEmail, async (c) =>
      c.json(await emails.confirm(c.req.valid("json").token, c.get("requestContext")), 200),
    )
    .openapi(makePrimary, async (c) => {
      const caller = await requireSession(c);
      return c.json(
        await emails.makePrimary(caller.session, c.req.valid("param").emailId, c.get("requestContext")),
        200,
      );
    })
    .openapi(removeEmail, async (c) => {
      const caller = await requireSession(c);
      await emails.remove(caller.session, c.req.valid("param").emailId, c.get("requestContext"));
      return c.body(null, 204);
    });
}

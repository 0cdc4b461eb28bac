// Webhook endpoints and their deliveries, for operators (webhooks:read, webhooks:manage).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import { requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import {
  WEBHOOK_EVENT_TYPES,
  WEBHOOKS_MANAGE,
  WEBHOOKS_READ,
  type PublicDelivery,
  type PublicEndpoint,
} from "@burrow/platform-ops";
import { jsonBody, jsonContent, PageLimit, pageOf, problems, signedInOrApiKey } from "../schemas.ts";

const tags = ["Webhooks"];

const EndpointId = idSchema("webhook");
const DeliveryId = idSchema("webhookDelivery");
const EventTypes = z
  .array(z.enum(["*", ...WEBHOOK_EVENT_TYPES] as [string, ...string[]]))
  .min(1)
  .max(50)
  .openapi({ description: 'Event types to receive, or `["*"]` for all', example: ["user.created", "session.revoked"] });

const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()),
    orgId: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().openapi({ description: "`failing` or `operator` when disabled" }),
    consecutiveFailures: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookEndpoint");

const Delivery = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` of every attempt" }),
    endpointId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    payload: z.unknown(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number(),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    responseStatus: z.number().nullable(),
    responseTimeMs: z.number().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const Url = z.string().trim().min(1).max(2000);
const Description = z.string().trim().max(500);

const listEndpoints = createRoute({
  operationId: "listWebhookEndpoints",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/webhooks",
  tags,
  summary: "Webhook endpoints (webhooks:read)",
  responses: { 200: jsonContent(z.object({ data: z.array(Endpoint) }), "Endpoints"), ...problems(401, 403) },
});

const createEndpoint = createRoute({
  operationId: "createWebhookEndpoint",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/webhooks",
  tags,
  summary: "Add an endpoint (webhooks:manage); its signing secret is shown this once",
  description:
    "The URL must be http(s) without credentials and may not point inside the network (checked again after DNS at every delivery). `orgId` limits it to one organization's events.",
  request: {
    body: jsonBody(
      z
        .object({
          url: Url,
          eventTypes: EventTypes,
          description: Description.optional(),
          orgId: idSchema("organization").nullable().optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(Endpoint.extend({ secret: z.string().openapi({ example: "whsec_…" }) }), "Created"),
    ...problems(400, 401, 403, 404, 415),
  },
});

const endpointParams = z.object({ endpointId: EndpointId });

const getEndpoint = createRoute({
  operationId: "getWebhookEndpoint",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/webhooks/{endpointId}",
  tags,
  summary: "One endpoint (webhooks:read)",
  request: { params: endpointParams },
  responses: { 200: jsonContent(Endpoint, "The endpoint"), ...problems(400, 401, 403, 404) },
});

const updateEndpoint = createRoute({
  operationId: "updateWebhookEndpoint",
  security: signedInOrApiKey,
  method: "patch",
  path: "/v1/admin/webhooks/{endpointId}",
  tags,
  summary: "Change an endpoint (webhooks:manage); `enabled: true` turns a disabled one back on",
  request: {
    params: endpointParams,
    body: jsonBody(
      z
        .object({ url: Url, eventTypes: EventTypes, description: Description, enabled: z.boolean() })
        .partial()
        .strict()
        .refine((value) => Object.keys(value).length > 0, "Change at least one field"),
    ),
  },
  responses: { 200: jsonContent(Endpoint, "Changed"), ...problems(400, 401, 403, 404, 415) },
});

const deleteEndpoint = createRoute({
  operationId: "deleteWebhookEndpoint",
  security: signedInOrApiKey,
  method: "delete",
  path: "/v1/admin/webhooks/{endpointId}",
  tags,
  summary: "Remove an endpoint and its delivery log (webhooks:manage)",
  request: { params: endpointParams },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404) },
});

const rotateSecret = createRoute({
  operationId: "rotateWebhookSecret",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/webhooks/{endpointId}/rotate-secret",
  tags,
  summary: "A new signing secret (webhooks:manage); the old one signs beside it for 24 hours",
  request: { params: endpointParams },
  responses: { 200: jsonContent(z.object({ secret: z.string() }), "The new secret"), ...problems(400, 401, 403, 404) },
});

const listDeliveries = createRoute({
  operationId: "listWebhookDeliveries",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/webhooks/{endpointId}/deliveries",
  tags,
  summary: "An endpoint's deliveries, newest first (webhooks:read)",
  request: {
    params: endpointParams,
    query: z
      .object({
        status: z.enum(["pending", "succeeded", "failed"]).optional(),
        cursor: z.string().max(200).optional(),
        limit: PageLimit.optional(),
      })
      .strict(),
  },
  responses: {
    200: jsonContent(pageOf(Delivery), "Deliveries"),
    ...problems(400, 401, 403, 404),
  },
});

const redeliver = createRoute({
  operationId: "redeliverWebhook",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/webhooks/deliveries/{deliveryId}/redeliver",
  tags,
  summary: "Send a delivery again now, as the same message (webhooks:manage)",
  request: { params: z.object({ deliveryId: DeliveryId }) },
  responses: { 202: jsonContent(Delivery, "Queued"), ...problems(400, 401, 403, 404, 409) },
});

const endpointJson = (row: PublicEndpoint) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});
const deliveryJson = (row: PublicDelivery) => ({
  ...row,
  nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
  lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
  deliveredAt: row.deliveredAt?.toISOString() ?? null,
});

export function webhookRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { webhooks } = platform;
  const request = (c: { get(key: "requestContext"): AppEnv["Variables"]["requestContext"] }) => c.get("requestContext");
  return new OpenAPIHono<AppEnv>()
    .openapi(listEndpoints, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_READ);
      return c.json({ data: (await webhooks.list(caller.user.id)).map(endpointJson) }, 200);
    })
    .openapi(createEndpoint, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_MANAGE);
      const { endpoint, secret } = await webhooks.create(caller.user.id, c.req.valid("json"), request(c));
      return c.json({ ...endpointJson(endpoint), secret }, 201);
    })
    .openapi(getEndpoint, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_READ);
      return c.json(endpointJson(await webhooks.get(caller.user.id, c.req.valid("param").endpointId)), 200);
    })
    .openapi(updateEndpoint, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_MANAGE);
      const row = await webhooks.update(
        caller.user.id,
        c.req.valid("param").endpointId,
        c.req.valid("json"),
        request(c),
      );
      return c.json(endpointJson(row), 200);
    })
    .openapi(deleteEndpoint, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_MANAGE);
      await webhooks.remove(caller.user.id, c.req.valid("param").endpointId, request(c));
      return c.body(null, 204);
    })
    .openapi(rotateSecret, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_MANAGE);
      return c.json(await webhooks.rotateSecret(caller.user.id, c.req.valid("param").endpointId, request(c)), 200);
    })
    .openapi(listDeliveries, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_READ);
      const { cursor, limit, status } = c.req.valid("query");
      const page = await webhooks.deliveries(caller.user.id, c.req.valid("param").endpointId, {
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit === undefined ? {} : { limit }),
        ...(status === undefined ? {} : { status }),
      });
      return c.json({ data: page.data.map(deliveryJson), nextCursor: page.nextCursor }, 200);
    })
    .openapi(redeliver, async (c) => {
      const caller = await requireActor(c, WEBHOOKS_MANAGE);
      const row = await webhooks.redeliver(caller.user.id, c.req.valid("param").deliveryId, request(c));
      return c.json(deliveryJson(row), 202);
    });
}

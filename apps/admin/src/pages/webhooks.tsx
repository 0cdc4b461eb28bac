import { type PublicDelivery, type PublicEndpoint, WEBHOOK_EVENT_TYPES } from "@burrow/platform-ops";
import { ActionButton, CsrfField, type Frame, Pager, Shell, Table, when } from "../layout.tsx";

const EndpointFields = (props: {
  endpoint?: PublicEndpoint | undefined;
  values?: Record<string, string> | undefined;
}) => {
  const chosen = new Set(props.endpoint?.eventTypes ?? []);
  return (
    <>
      <label for="url">URL (https)</label>
      <input
        id="url"
        name="url"
        type="url"
        required
        maxlength={2000}
        value={props.values?.url ?? props.endpoint?.url}
        placeholder="https://example.com/hooks/burrow"
      />
      <label for="description">Description</label>
      <input
        id="description"
        name="description"
        maxlength={500}
        value={props.values?.description ?? props.endpoint?.description}
      />
      <fieldset class="events">
        <legend>Events</legend>
        {WEBHOOK_EVENT_TYPES.map((type) => (
          <label class="check">
            <input type="checkbox" name="eventTypes" value={type} checked={chosen.has(type)} /> <code>{type}</code>
          </label>
        ))}
      </fieldset>
    </>
  );
};

export const WebhooksPage = (props: {
  frame: Frame;
  endpoints: PublicEndpoint[];
  error?: string | undefined;
  values?: Record<string, string> | undefined;
  notice?: string | undefined;
}) => (
  <Shell frame={props.frame} title="Webhooks" notice={props.notice}>
    <Table
      empty={"No endpoints yet."}
      rows={props.endpoints}
      headings={["Endpoint", "Events", "State", "Failures in a row"]}
    >
      {props.endpoints.map((endpoint) => (
        <tr>
          <td>
            <a href={`/webhooks/${endpoint.id}`}>{endpoint.url}</a>
            <div class="muted">{endpoint.description}</div>
          </td>
          <td>
            <code>{endpoint.eventTypes.join(" ")}</code>
          </td>
          <td>
            <span class={`badge ${endpoint.enabled ? "active" : "suspended"}`}>
              {endpoint.enabled ? "enabled" : "disabled"}
            </span>
            {endpoint.disabledReason === null ? null : <div class="muted">{endpoint.disabledReason}</div>}
          </td>
          <td>{endpoint.consecutiveFailures}</td>
        </tr>
      ))}
    </Table>
    {props.frame.can("webhooks:manage") ? (
      <>
        <h2>Add an endpoint</h2>
        {props.error === undefined ? null : (
          <div class="error" role="alert">
            {props.error}
          </div>
        )}
        <form class="card narrow" method="post" action="/webhooks">
          <CsrfField token={props.frame.csrf} />
          <EndpointFields values={props.values} />
          <button type="submit">Add endpoint</button>
        </form>
      </>
    ) : null}
  </Shell>
);

/** The signing secret, shown this once (after creating or rotating). */
export const SecretPage = (props: { frame: Frame; endpoint: PublicEndpoint; secret: string; rotated: boolean }) => (
  <Shell frame={props.frame} title={props.rotated ? "New signing secret" : "Endpoint added"}>
    <div class="card narrow">
      <p>
        The signing secret of <strong>{props.endpoint.url}</strong>. Keep it in your receiver's settings; it is not
        shown again.{props.rotated ? " The old secret keeps signing beside it for 24 hours." : ""}
      </p>
      <pre aria-label="Signing secret">{props.secret}</pre>
      <p>
        <a class="button" href={`/webhooks/${props.endpoint.id}`}>
          Continue
        </a>
      </p>
    </div>
  </Shell>
);

export const WebhookPage = (props: {
  frame: Frame;
  endpoint: PublicEndpoint;
  deliveries: { data: PublicDelivery[]; nextCursor: string | null };
  notice?: string | undefined;
  error?: string | undefined;
}) => {
  const { endpoint, frame } = props;
  const manage = frame.can("webhooks:manage");
  const base = `/webhooks/${endpoint.id}`;
  return (
    <Shell frame={frame} title={endpoint.url} notice={props.notice}>
      <p class="muted">
        <a href="/webhooks">All endpoints</a> · <code>{endpoint.id}</code> · {endpoint.enabled ? "enabled" : "disabled"}{" "}
        · {endpoint.consecutiveFailures} failures in a row
      </p>
      {props.error === undefined ? null : (
        <div class="error" role="alert">
          {props.error}
        </div>
      )}
      {manage ? (
        <>
          <form class="card narrow" method="post" action={base}>
            <CsrfField token={frame.csrf} />
            <EndpointFields endpoint={endpoint} />
            <label class="check">
              <input type="checkbox" name="enabled" value="yes" checked={endpoint.enabled} /> Enabled
            </label>
            <button type="submit">Save</button>
          </form>
          <div class="actions">
            <ActionButton action={`${base}/rotate`} csrf={frame.csrf} label="Rotate signing secret" kind="secondary" />
            <ActionButton action={`${base}/delete`} csrf={frame.csrf} label="Delete endpoint" kind="danger" />
          </div>
        </>
      ) : null}
      <h2>Deliveries</h2>
      <Table
        empty={"Nothing delivered yet."}
        rows={props.deliveries.data}
        headings={["Queued (UTC)", "Event", "State", "Tries", "Response", "Request"]}
      >
        {props.deliveries.data.map((delivery) => (
          <tr>
            <td class="nowrap">{when(delivery.createdAt, true)}</td>
            <td>
              <code>{delivery.eventType}</code>
            </td>
            <td>
              <span
                class={`badge ${delivery.status === "succeeded" ? "active" : delivery.status === "failed" ? "suspended" : "invited"}`}
              >
                {delivery.status}
              </span>
            </td>
            <td>{delivery.attempts}</td>
            <td>
              {delivery.responseStatus === null ? "—" : `HTTP ${delivery.responseStatus}`}
              {delivery.responseTimeMs === null ? null : <span class="muted"> in {delivery.responseTimeMs} ms</span>}
              {delivery.lastError === null ? null : <div class="muted">{delivery.lastError}</div>}
            </td>
            <td>
              <details>
                <summary>
                  Body of <code>{delivery.eventId}</code>
                </summary>
                <pre>{JSON.stringify(delivery.payload, null, 2)}</pre>
              </details>
              {manage ? (
                <form class="inline" method="post" action={`/webhooks/deliveries/${delivery.id}/redeliver`}>
                  <CsrfField token={frame.csrf} />
                  <input type="hidden" name="endpointId" value={endpoint.id} />
                  <button type="submit" class="secondary">
                    Redeliver
                  </button>
                </form>
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      <Pager
        href={
          props.deliveries.nextCursor === null
            ? null
            : `${base}?cursor=${encodeURIComponent(props.deliveries.nextCursor)}`
        }
        label="Older deliveries"
      />
    </Shell>
  );
};

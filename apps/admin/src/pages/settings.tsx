import { OAUTH_PROVIDER_TYPES } from "@burrow/platform-core";
import type { DiscoveryCheck } from "@burrow/platform-auth";
import type { ProviderListing } from "@burrow/platform-ops";
import { ActionButton, CsrfField, type Frame, Shell, Table } from "../layout.tsx";

const MANAGE = "oauth_providers:manage";

/**
 * A provider's fields. The client secret is write-only: its field is always empty, and left empty
 * on an edit it keeps the stored one.
 */
const ProviderFields = (props: {
  provider?: ProviderListing | undefined;
  values?: Record<string, string> | undefined;
}) => {
  const value = (name: string, current: string | undefined) => props.values?.[name] ?? current ?? "";
  const type = value("type", props.provider?.type ?? "oidc");
  const editing = props.provider !== undefined;
  return (
    <>
      {editing ? null : (
        <>
          <label for="id">Id (in the redirect URI: /v1/auth/oauth/&lt;id&gt;/callback)</label>
          <input
            id="id"
            name="id"
            required
            maxlength={40}
            pattern="[a-z0-9][a-z0-9\-]{0,39}"
            value={value("id", undefined)}
          />
        </>
      )}
      <label for="type">Kind</label>
      <select id="type" name="type">
        {OAUTH_PROVIDER_TYPES.map((kind) => (
          <option value={kind} selected={kind === type}>
            {kind}
          </option>
        ))}
      </select>
      <label for="issuer">Issuer (https; required for oidc and microsoft)</label>
      <input
        id="issuer"
        name="issuer"
        type="url"
        maxlength={2000}
        value={value("issuer", props.provider?.issuer ?? undefined)}
      />
      <label for="clientId">Client id</label>
      <input
        id="clientId"
        name="clientId"
        required
        maxlength={500}
        value={value("clientId", props.provider?.clientId)}
      />
      <label for="clientSecret">{editing ? "New client secret (empty keeps the stored one)" : "Client secret"}</label>
      <input
        id="clientSecret"
        name="clientSecret"
        type="password"
        autocomplete="off"
        maxlength={2000}
        required={!editing}
        value=""
      />
      <label for="scopes">Extra scopes (space-separated; openid email profile are always asked)</label>
      <input id="scopes" name="scopes" maxlength={2000} value={value("scopes", props.provider?.scopes.join(" "))} />
      <label class="check">
        <input
          type="checkbox"
          name="trustEmail"
          value="yes"
          checked={
            props.values === undefined ? (props.provider?.trustEmail ?? false) : props.values.trustEmail === "yes"
          }
        />{" "}
        Trust its email check (only if it verifies every address it reports as verified)
      </label>
    </>
  );
};

const TestResult = (props: { id: string; test: DiscoveryCheck }) =>
  props.test.ok ? (
    <div class="notice" role="status">
      Discovery for <code>{props.id}</code> works: issuer <code>{props.test.issuer}</code>, authorization endpoint{" "}
      <code>{props.test.authorizationEndpoint}</code>.
    </div>
  ) : (
    <div class="error" role="alert">
      Discovery for <code>{props.id}</code> failed ({props.test.error}): {props.test.detail}
    </div>
  );

const ProvidersSection = (props: {
  frame: Frame;
  providers: ProviderListing[];
  test?: { id: string; result: DiscoveryCheck } | undefined;
  error?: string | undefined;
  values?: Record<string, string> | undefined;
}) => {
  const manage = props.frame.can(MANAGE);
  return (
    <>
      <h2>Social sign-in providers</h2>
      <p class="muted">
        From BURROW_OAUTH_PROVIDERS (changed only there) and added here (docs/social-login.md). Client secrets are never
        shown.
      </p>
      {props.test === undefined ? null : <TestResult id={props.test.id} test={props.test.result} />}
      <Table
        empty="None configured."
        rows={props.providers}
        headings={[
          "Id",
          "Kind",
          "Issuer",
          "Client id",
          "Scopes",
          "Trusts its email check",
          "State",
          manage ? "Actions" : null,
        ]}
      >
        {props.providers.map((provider) => (
          <tr>
            <td>
              <code>{provider.id}</code>
            </td>
            <td>{provider.type}</td>
            <td>
              <code>{provider.issuer ?? "—"}</code>
            </td>
            <td>
              <code>{provider.clientId}</code>
            </td>
            <td>{provider.scopes.join(" ")}</td>
            <td>{provider.trustEmail ? "yes" : "no"}</td>
            <td>
              {provider.source === "config" ? (
                "from configuration"
              ) : (
                <span class={`badge ${provider.enabled ? "active" : "suspended"}`}>
                  {provider.enabled ? "enabled" : "disabled"}
                </span>
              )}
            </td>
            {manage ? (
              <td>
                <ActionButton
                  action={`/settings/oauth-providers/${provider.id}/test`}
                  csrf={props.frame.csrf}
                  label="Test"
                  kind="secondary"
                />
                {provider.source === "database" ? (
                  <>
                    <a class="button" href={`/settings/oauth-providers/${provider.id}`}>
                      Edit
                    </a>
                    <ActionButton
                      action={`/settings/oauth-providers/${provider.id}/${provider.enabled ? "disable" : "enable"}`}
                      csrf={props.frame.csrf}
                      label={provider.enabled ? "Disable" : "Enable"}
                      kind={provider.enabled ? "danger" : "secondary"}
                    />
                  </>
                ) : null}
              </td>
            ) : null}
          </tr>
        ))}
      </Table>
      {manage ? (
        <>
          <h2>Add a provider</h2>
          {props.error === undefined ? null : (
            <div class="error" role="alert">
              {props.error}
            </div>
          )}
          <form class="card narrow" method="post" action="/settings/oauth-providers">
            <CsrfField token={props.frame.csrf} />
            <ProviderFields values={props.values} />
            <button type="submit">Add provider</button>
          </form>
        </>
      ) : null}
    </>
  );
};

/** One provider added at run time: its fields to change (oauth_providers:manage). */
export const ProviderPage = (props: {
  frame: Frame;
  provider: ProviderListing;
  error?: string | undefined;
  values?: Record<string, string> | undefined;
}) => (
  <Shell frame={props.frame} title={`Provider ${props.provider.id}`}>
    <p class="muted">
      <a href="/settings">Settings</a> · {props.provider.enabled ? "enabled" : "disabled"}
    </p>
    {props.error === undefined ? null : (
      <div class="error" role="alert">
        {props.error}
      </div>
    )}
    <form class="card narrow" method="post" action={`/settings/oauth-providers/${props.provider.id}`}>
      <CsrfField token={props.frame.csrf} />
      <ProviderFields provider={props.provider} values={props.values} />
      <button type="submit">Save</button>
    </form>
  </Shell>
);

export const SettingsPage = (props: {
  frame: Frame;
  settings: { path: string; value: string }[];
  signingKeys: { kid: string; alg: string }[];
  providers: ProviderListing[];
  notice?: string | undefined;
  test?: { id: string; result: DiscoveryCheck } | undefined;
  error?: string | undefined;
  values?: Record<string, string> | undefined;
}) => (
  <Shell frame={props.frame} title="Settings" notice={props.notice}>
    <h2>Access-token signing keys</h2>
    <p class="muted">
      Published at <code>/.well-known/jwks.json</code>. The first is the active one; the others verify the tokens they
      signed until those expire.
    </p>
    <table>
      <thead>
        <tr>
          <th scope="col">Key id</th>
          <th scope="col">Algorithm</th>
        </tr>
      </thead>
      <tbody>
        {props.signingKeys.map((key) => (
          <tr>
            <td>
              <code>{key.kid}</code>
            </td>
            <td>{key.alg}</td>
          </tr>
        ))}
      </tbody>
    </table>
    {props.frame.can("signing_keys:rotate") ? (
      <div class="actions">
        <ActionButton
          action="/settings/rotate-signing-key"
          csrf={props.frame.csrf}
          label="Rotate signing key"
          kind="secondary"
        />
      </div>
    ) : null}
    <ProvidersSection
      frame={props.frame}
      providers={props.providers}
      test={props.test}
      error={props.error}
      values={props.values}
    />
    <h2>Effective configuration</h2>
    <p class="muted">
      As this process read it from its environment (docs/configuration.md names each variable). Secrets show only
      whether they are set; URLs lose their credentials. Durations are in milliseconds.
    </p>
    <table>
      <thead>
        <tr>
          <th scope="col">Setting</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {props.settings.map((setting) => (
          <tr>
            <td>
              <code>{setting.path}</code>
            </td>
            <td>
              <code>{setting.value}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </Shell>
);

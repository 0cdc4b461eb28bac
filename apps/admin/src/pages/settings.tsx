import type { ProviderView } from "@burrow/platform-ops";
import { ActionButton, type Frame, Shell, Table } from "../layout.tsx";

export const SettingsPage = (props: {
  frame: Frame;
  settings: { path: string; value: string }[];
  signingKeys: { kid: string; alg: string }[];
  providers: ProviderView[];
  notice?: string | undefined;
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
    <h2>Social sign-in providers</h2>
    <p class="muted">From BURROW_OAUTH_PROVIDERS (docs/social-login.md). Client secrets are never shown.</p>
    <Table
      empty="None configured."
      rows={props.providers}
      headings={["Id", "Kind", "Issuer", "Client id", "Scopes", "Trusts its email check"]}
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
        </tr>
      ))}
    </Table>
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

import { USER_STATUSES, type SessionRow, type UserRow, type UserStatus } from "@burrow/platform-auth";
import type { AuditEntry } from "@burrow/platform-core";
import type { UserDetails } from "@burrow/platform-ops";
import type { EligibilityView } from "@burrow/platform-rbac";
import { ActionButton, ActionCell, CsrfField, type Frame, Pager, Shell, Table, when } from "../layout.tsx";

/** The pages here update in place with htmx where it saves a page load (see docs/admin.md). */
const HTMX = ["/assets/htmx.min.js" as const];

/** Who must approve an elevation from an eligibility: nobody (it starts at once), or holders of a permission. */
export const Approval = (props: { permission: string | null }) =>
  props.permission === null ? (
    <>starts at once</>
  ) : (
    <>
      needs <code>{props.permission}</code>
    </>
  );

const Status = (props: { status: string }) => <span class={`badge ${props.status}`}>{props.status}</span>;

export const UsersPage = (props: {
  frame: Frame;
  page: { data: UserRow[]; nextCursor: string | null };
  query: string;
  status: UserStatus | undefined;
}) => {
  const next = new URLSearchParams();
  if (props.query !== "") next.set("query", props.query);
  if (props.status !== undefined) next.set("status", props.status);
  if (props.page.nextCursor !== null) next.set("cursor", props.page.nextCursor);
  return (
    <Shell frame={props.frame} title="Users" scripts={HTMX}>
      {/* Search as you type: the results are fetched and swapped in place; Search still submits without script. */}
      <form
        class="toolbar"
        method="get"
        action="/users"
        role="search"
        hx-get="/users"
        hx-trigger="input changed delay:300ms from:#query, change from:#status"
        hx-target="#user-results"
        hx-select="#user-results"
        hx-swap="outerHTML"
        hx-replace-url="true"
      >
        <div>
          <label for="query">Email, name or id</label>
          <input id="query" name="query" type="search" value={props.query} maxlength={254} />
        </div>
        <div>
          <label for="status">Status</label>
          <select id="status" name="status">
            <option value="">Any</option>
            {USER_STATUSES.filter((status) => status !== "deleted").map((status) => (
              <option value={status} selected={status === props.status}>
                {status}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
        {props.frame.can("users:manage") ? (
          <a class="button secondary-link" href="/users/new">
            New user
          </a>
        ) : null}
      </form>
      <div id="user-results">
        <Table
          empty={"No users match."}
          rows={props.page.data}
          headings={["Email", "Name", "Status", "Created", "Last sign-in"]}
        >
          {props.page.data.map((user) => (
            <tr>
              <td>
                <a href={`/users/${user.id}`}>{user.email}</a>
              </td>
              <td>{user.name ?? "—"}</td>
              <td>
                <Status status={user.status} />
              </td>
              <td>{when(user.createdAt)}</td>
              <td>{when(user.lastSignInAt)}</td>
            </tr>
          ))}
        </Table>
        <Pager href={props.page.nextCursor === null ? null : `/users?${next.toString()}`} />
      </div>
    </Shell>
  );
};

export const UserPage = (props: {
  frame: Frame;
  user: UserRow;
  sessions: SessionRow[];
  details: UserDetails;
  platformRoles: { held: string[]; all: { key: string; name: string }[]; eligible: EligibilityView[] };
  audit: AuditEntry[] | null;
  notice: string | undefined;
}) => {
  const { user, frame } = props;
  const manage = frame.can("users:manage");
  const base = `/users/${user.id}`;
  const self = frame.email === user.email;
  return (
    <Shell frame={frame} title={user.name ?? user.email} notice={props.notice} scripts={HTMX}>
      <div class="card">
        <dl>
          <dt>Id</dt>
          <dd>
            <code>{user.id}</code>
          </dd>
          <dt>Email</dt>
          <dd>
            {user.email} {user.emailVerifiedAt === null ? <span class="badge">not verified</span> : null}
          </dd>
          <dt>Name</dt>
          <dd>{user.name ?? "—"}</dd>
          <dt>Status</dt>
          <dd>
            <Status status={user.status} />
          </dd>
          <dt>Created</dt>
          <dd>{when(user.createdAt)}</dd>
          <dt>Last sign-in</dt>
          <dd>{when(user.lastSignInAt)}</dd>
          <dt>Metadata</dt>
          <dd>
            <pre>{JSON.stringify(user.metadata ?? {}, null, 2)}</pre>
          </dd>
        </dl>
      </div>
      {manage ? (
        <div class="actions" aria-label="Actions">
          {user.status === "suspended" ? (
            <ActionButton action={`${base}/unsuspend`} csrf={frame.csrf} label="Unsuspend" />
          ) : self ? null : (
            <ActionButton action={`${base}/suspend`} csrf={frame.csrf} label="Suspend" kind="secondary" />
          )}
          <ActionButton action={`${base}/unlock`} csrf={frame.csrf} label="Unlock sign-in" kind="secondary" />
          <ActionButton
            action={`${base}/password-reset`}
            csrf={frame.csrf}
            label="Send password reset"
            kind="secondary"
          />
          {user.emailVerifiedAt === null ? (
            <ActionButton
              action={`${base}/verify-email`}
              csrf={frame.csrf}
              label="Mark email verified"
              kind="secondary"
            />
          ) : null}
          <ActionButton
            action={`${base}/revoke-sessions`}
            csrf={frame.csrf}
            label="Revoke all sessions"
            kind="secondary"
          />
          {self ? null : <ActionButton action={`${base}/delete`} csrf={frame.csrf} label="Delete user" kind="danger" />}
        </div>
      ) : null}
      {frame.can("users:impersonate") && !self && user.status === "active" ? (
        <div class="actions" aria-label="Impersonation">
          <ActionButton action={`${base}/impersonate`} csrf={frame.csrf} label="Impersonate" kind="secondary" />
        </div>
      ) : null}
      <h2>Sessions</h2>
      <Table
        empty={"No active sessions."}
        rows={props.sessions}
        headings={["Device", "IP (hash)", "Signed in with", "Started", "Last active", manage ? "Action" : null]}
      >
        {props.sessions.map((session) => (
          <tr>
            <td>
              {session.userAgent ?? "unknown"}
              {session.audience === "admin" ? <span class="badge">admin console</span> : null}
            </td>
            <td>
              <code>{session.ip === null ? "—" : session.ip.slice(0, 16)}</code>
            </td>
            <td>{session.authMethods.join(" + ")}</td>
            <td>{when(session.createdAt)}</td>
            <td>{when(session.lastActiveAt)}</td>
            <ActionCell
              show={manage}
              action={`${base}/sessions/${session.id}/revoke`}
              csrf={frame.csrf}
              label="Revoke"
              inPlace
            />
          </tr>
        ))}
      </Table>
      <h2>Email addresses</h2>
      <Table
        empty="No address."
        rows={props.details.emails}
        headings={["Address", "Primary", "Verified", "Added", manage ? "Action" : null]}
      >
        {props.details.emails.map((address) => (
          <tr>
            <td>
              <code>{address.email}</code>
            </td>
            <td>{address.primary ? "yes" : "no"}</td>
            <td>{address.verified ? "yes" : "no"}</td>
            <td class="nowrap">{when(new Date(address.createdAt))}</td>
            {manage ? (
              <td>
                {address.id !== null && !address.verified ? (
                  <ActionButton
                    action={`${base}/emails/${address.id}/verify`}
                    csrf={frame.csrf}
                    label="Mark verified"
                    kind="secondary"
                  />
                ) : null}
                {address.id !== null ? (
                  <ActionButton
                    action={`${base}/emails/${address.id}/remove`}
                    csrf={frame.csrf}
                    label="Remove"
                    kind="secondary"
                  />
                ) : null}
              </td>
            ) : null}
          </tr>
        ))}
      </Table>
      <h2>Linked social accounts</h2>
      <Table
        empty="No social sign-in account is linked."
        rows={props.details.linkedAccounts}
        headings={["Provider", "Address at the provider", "Provider verified it", "Linked", "Last sign-in"]}
      >
        {props.details.linkedAccounts.map((account) => (
          <tr>
            <td>
              <code>{account.provider}</code>
            </td>
            <td>{account.email ?? "—"}</td>
            <td>{account.emailVerified ? "yes" : "no"}</td>
            <td class="nowrap">{when(new Date(account.createdAt))}</td>
            <td class="nowrap">{when(account.lastSignInAt === null ? null : new Date(account.lastSignInAt))}</td>
          </tr>
        ))}
      </Table>
      <h2>Phones</h2>
      <Table empty="No phone numbers." rows={props.details.phones} headings={["Phone", "Primary", "Verified", "Added"]}>
        {props.details.phones.map((phone) => (
          <tr>
            <td>
              <code>{phone.phone}</code>
            </td>
            <td>{phone.isPrimary ? "yes" : "no"}</td>
            <td class="nowrap">{when(phone.verifiedAt)}</td>
            <td class="nowrap">{when(phone.createdAt)}</td>
          </tr>
        ))}
      </Table>
      <h2>Second factors</h2>
      <Table
        empty={"No second factor."}
        rows={props.details.factors}
        headings={["Kind", "Label", "Added", "Last used", manage ? "Action" : null]}
      >
        {props.details.factors.map((factor) => (
          <tr>
            <td>
              {factor.type === "totp" ? "Authenticator app" : "Passkey"}
              {factor.confirmedAt === null ? <span class="badge">not confirmed</span> : null}
            </td>
            <td>{factor.label}</td>
            <td class="nowrap">{when(factor.createdAt)}</td>
            <td class="nowrap">{when(factor.lastUsedAt)}</td>
            <ActionCell show={manage} action={`${base}/factors/${factor.id}/remove`} csrf={frame.csrf} label="Remove" />
          </tr>
        ))}
      </Table>
      <h2>Platform roles</h2>
      {props.platformRoles.held.length === 0 ? (
        <div class="empty">No platform role: an ordinary account.</div>
      ) : (
        <div class="actions">
          {props.platformRoles.held.map((key) => (
            <span class="card role">
              <code>{key}</code>{" "}
              {manage && !self ? (
                <ActionButton
                  action={`${base}/platform-roles/${key}/revoke`}
                  csrf={frame.csrf}
                  label="Take away"
                  kind="secondary"
                />
              ) : null}
            </span>
          ))}
        </div>
      )}
      {manage && !self ? (
        <form class="toolbar" method="post" action={`${base}/platform-roles`}>
          <CsrfField token={frame.csrf} />
          <div>
            <label for="platform-role">Grant a platform role</label>
            <select id="platform-role" name="role">
              {props.platformRoles.all
                .filter((role) => !props.platformRoles.held.includes(role.key))
                .map((role) => (
                  <option value={role.key}>{role.name}</option>
                ))}
            </select>
          </div>
          <button type="submit" class="secondary">
            Grant
          </button>
        </form>
      ) : null}
      <h2>Eligible-only platform roles</h2>
      <Table
        empty={"Not eligible to elevate into any platform role."}
        rows={props.platformRoles.eligible}
        headings={["Role", "Approval", "Since", manage ? "Action" : null]}
      >
        {props.platformRoles.eligible.map((eligibility) => (
          <tr>
            <td>
              <code>{eligibility.role}</code>
            </td>
            <td>
              <Approval permission={eligibility.approverPermission} />
            </td>
            <td class="nowrap">{when(eligibility.createdAt)}</td>
            <ActionCell
              show={manage}
              action={`${base}/eligibilities/${eligibility.id}/revoke`}
              csrf={frame.csrf}
              label="Remove"
              inPlace
            />
          </tr>
        ))}
      </Table>
      {manage && !self ? (
        <form class="toolbar" method="post" action={`${base}/eligibilities`}>
          <CsrfField token={frame.csrf} />
          <div>
            <label for="eligible-role">Make eligible for</label>
            <select id="eligible-role" name="role">
              {props.platformRoles.all.map((role) => (
                <option value={role.key}>{role.name}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="approver-permission">Approvers hold (empty: starts at once)</label>
            <input id="approver-permission" name="approverPermission" maxlength={100} placeholder="users:manage" />
          </div>
          <button type="submit" class="secondary">
            Make eligible
          </button>
        </form>
      ) : null}
      <h2>Organizations</h2>
      <Table
        empty={"Not a member of any organization."}
        rows={props.details.organizations}
        headings={["Organization", "Slug", "Role"]}
      >
        {props.details.organizations.map((org) => (
          <tr>
            <td>
              <a href={`/orgs/${org.id}`}>{org.name}</a>
            </td>
            <td>
              <code>{org.slug}</code>
            </td>
            <td>{org.role}</td>
          </tr>
        ))}
      </Table>
      <h2>API keys</h2>
      <Table
        empty={"No API keys."}
        rows={props.details.apiKeys}
        headings={["Name", "Key", "Scopes", "Last used", "State"]}
      >
        {props.details.apiKeys.map((key) => (
          <tr>
            <td>{key.name}</td>
            <td>
              <code>{`bk_${key.prefix}…`}</code>
            </td>
            <td>
              <code>{key.scopes.join(" ")}</code>
            </td>
            <td class="nowrap">{when(key.lastUsedAt)}</td>
            <td>
              {key.revokedAt === null ? "active" : `revoked ${when(key.revokedAt)}`}
              {manage && key.revokedAt === null ? (
                <ActionButton
                  action={`${base}/api-keys/${key.id}/revoke`}
                  csrf={frame.csrf}
                  label="Revoke"
                  kind="secondary"
                  inPlace
                />
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
      {props.audit === null ? null : (
        <>
          <h2>Recent audit trail</h2>
          <Table empty={"Nothing recorded yet."} rows={props.audit} headings={["When", "Action", "Actor", "Outcome"]}>
            {props.audit.map((entry) => (
              <tr>
                <td class="nowrap">{when(entry.occurredAt)}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  <code>{entry.actorId ?? entry.actorType}</code>
                </td>
                <td>{entry.outcome}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </Shell>
  );
};

export const NewUserPage = (props: {
  frame: Frame;
  error?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
}) => (
  <Shell frame={props.frame} title="New user">
    {props.error === undefined ? null : (
      <div class="error" role="alert">
        {props.error}
      </div>
    )}
    <form class="card narrow" method="post" action="/users/new">
      <CsrfField token={props.frame.csrf} />
      <label for="email">Email address</label>
      <input id="email" name="email" type="email" maxlength={254} value={props.email} required />
      <label for="name">Name (optional)</label>
      <input id="name" name="name" maxlength={200} value={props.name} />
      <label class="check">
        <input type="checkbox" name="sendSetupEmail" value="yes" checked /> Mail the account-setup link (valid 72 hours)
      </label>
      <p class="muted">
        The account is invited until its owner opens the link and chooses a password; until then it cannot sign in.
      </p>
      <button type="submit">Create user</button>
    </form>
  </Shell>
);

export const ImpersonationPage = (props: { frame: Frame; user: UserRow; url: string; expiresAt: Date }) => (
  <Shell frame={props.frame} title={`Act as ${props.user.email}`}>
    <div class="card narrow">
      <p>
        Open this one-time link in the browser that should act as the user. It works once, until{" "}
        {props.expiresAt.toISOString().slice(11, 16)} UTC, and starts a 30-minute session as them. Everything done in it
        is recorded with your name too; it cannot change their password, address, second factors or keys.
      </p>
      <p>
        <a class="button" href={props.url} target="_blank" rel="noopener noreferrer">
          Open as {props.user.email}
        </a>
      </p>
      <p class="muted">
        <a href={`/users/${props.user.id}`}>Back to the user</a>
      </p>
    </div>
  </Shell>
);

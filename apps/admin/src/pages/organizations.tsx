import type { Entitlements, InvitationView, Member, OrganizationRow, RoleView } from "@burrow/platform-rbac";
import { ActionButton, ActionCell, CsrfField, type Frame, Pager, Shell, Table, when } from "../layout.tsx";

export const OrganizationsPage = (props: {
  frame: Frame;
  page: { data: (OrganizationRow & { members: number })[]; nextCursor: string | null };
  query: string;
}) => {
  const next = new URLSearchParams();
  if (props.query !== "") next.set("query", props.query);
  if (props.page.nextCursor !== null) next.set("cursor", props.page.nextCursor);
  return (
    <Shell frame={props.frame} title="Organizations">
      <form class="toolbar" method="get" action="/orgs" role="search">
        <div>
          <label for="query">Name, slug or id</label>
          <input id="query" name="query" type="search" value={props.query} maxlength={200} />
        </div>
        <button type="submit">Search</button>
      </form>
      <Table empty={"No organizations match."} rows={props.page.data} headings={["Name", "Slug", "Members", "Created"]}>
        {props.page.data.map((org) => (
          <tr>
            <td>
              <a href={`/orgs/${org.id}`}>{org.name}</a>
            </td>
            <td>
              <code>{org.slug}</code>
            </td>
            <td>{org.members}</td>
            <td class="nowrap">{when(org.createdAt)}</td>
          </tr>
        ))}
      </Table>
      <Pager href={props.page.nextCursor === null ? null : `/orgs?${next.toString()}`} />
    </Shell>
  );
};

export const OrganizationPage = (props: {
  frame: Frame;
  org: OrganizationRow;
  members: Member[];
  roles: RoleView[] | null;
  invitations: InvitationView[] | null;
  plan: Awaited<ReturnType<Entitlements["describe"]>>;
  notice?: string | undefined;
}) => {
  const { org, frame } = props;
  const base = `/orgs/${org.id}`;
  const manage = frame.can("members:update");
  return (
    <Shell frame={frame} title={org.name} notice={props.notice}>
      <div class="card">
        <dl>
          <dt>Id</dt>
          <dd>
            <code>{org.id}</code>
          </dd>
          <dt>Slug</dt>
          <dd>
            <code>{org.slug}</code>
          </dd>
          <dt>Created</dt>
          <dd>{when(org.createdAt)}</dd>
          <dt>Metadata</dt>
          <dd>
            <pre>{JSON.stringify(org.metadata ?? {}, null, 2)}</pre>
          </dd>
        </dl>
      </div>
      <h2>Members</h2>
      <Table
        empty={"No members."}
        rows={props.members}
        headings={["Member", "Role", "Joined", manage ? "Action" : null]}
      >
        {props.members.map((member) => (
          <tr>
            <td>
              <a href={`/users/${member.userId}`}>{member.email}</a>
              <div class="muted">{member.name}</div>
            </td>
            <td>
              {manage && props.roles !== null ? (
                <form class="toolbar" method="post" action={`${base}/members/${member.userId}/role`}>
                  <CsrfField token={frame.csrf} />
                  <label for={`role-${member.userId}`} class="visually-hidden">
                    Role of {member.email}
                  </label>
                  <select id={`role-${member.userId}`} name="role">
                    {props.roles.map((role) => (
                      <option value={role.key} selected={role.key === member.role}>
                        {role.name}
                      </option>
                    ))}
                  </select>
                  <button type="submit" class="secondary">
                    Change
                  </button>
                </form>
              ) : (
                member.role
              )}
            </td>
            <td class="nowrap">{when(member.joinedAt)}</td>
            <ActionCell
              show={manage}
              action={`${base}/members/${member.userId}/remove`}
              csrf={frame.csrf}
              label="Remove"
            />
          </tr>
        ))}
      </Table>
      {props.invitations === null ? null : (
        <>
          <h2>Invitations</h2>
          <Table
            empty={"No pending invitations."}
            rows={props.invitations}
            headings={["Address", "Role", "Sent", "Expires", frame.can("members:invite") ? "Action" : null]}
          >
            {props.invitations.map((invitation) => (
              <tr>
                <td>{invitation.email}</td>
                <td>{invitation.role}</td>
                <td class="nowrap">{when(invitation.createdAt)}</td>
                <td class="nowrap">{when(invitation.expiresAt)}</td>
                {frame.can("members:invite") ? (
                  <td>
                    <div class="actions">
                      <ActionButton
                        action={`${base}/invitations/${invitation.id}/resend`}
                        csrf={frame.csrf}
                        label="Resend"
                        kind="secondary"
                      />
                      <ActionButton
                        action={`${base}/invitations/${invitation.id}/revoke`}
                        csrf={frame.csrf}
                        label="Revoke"
                        kind="secondary"
                      />
                    </div>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        </>
      )}
      <h2>Plan and entitlements</h2>
      <p>
        {props.plan.subscription === null ? (
          "No subscription."
        ) : (
          <>
            Plan <strong>{props.plan.subscription.planName}</strong> (<code>{props.plan.subscription.plan}</code>),{" "}
            {props.plan.subscription.status}
            {props.plan.subscription.periodEndsAt === null
              ? ""
              : `, period ends ${when(props.plan.subscription.periodEndsAt)}`}
          </>
        )}
      </p>
      <Table
        empty="No overrides."
        rows={props.plan.overrides}
        headings={["Feature", "Effect", "Reason", "Expires", frame.can("entitlements:manage") ? "Action" : null]}
      >
        {props.plan.overrides.map((override) => (
          <tr>
            <td>
              <code>{override.featureKey}</code>
            </td>
            <td>{override.effect === "limit" ? `limit ${override.limitValue}` : override.effect}</td>
            <td>{override.reason}</td>
            <td class="nowrap">{when(override.expiresAt)}</td>
            <ActionCell
              show={frame.can("entitlements:manage")}
              action={`${base}/overrides/${override.id}/remove`}
              csrf={frame.csrf}
              label="Remove"
            />
          </tr>
        ))}
      </Table>
      {frame.can("entitlements:manage") && props.plan.features.length > 0 ? (
        <form class="toolbar" method="post" action={`${base}/overrides`}>
          <CsrfField token={frame.csrf} />
          <div>
            <label for="feature">Feature</label>
            <select id="feature" name="feature">
              {props.plan.features.map((feature) => (
                <option value={feature.key}>{feature.key}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="effect">Effect</label>
            <select id="effect" name="effect">
              <option value="grant">grant</option>
              <option value="deny">deny</option>
              <option value="limit">limit</option>
            </select>
          </div>
          <div>
            <label for="limit">Limit</label>
            <input id="limit" name="limit" type="number" min="0" />
          </div>
          <div>
            <label for="reason">Reason</label>
            <input id="reason" name="reason" required maxlength={500} />
          </div>
          <div>
            <label for="expires">Expires</label>
            <input id="expires" name="expires" type="date" />
          </div>
          <button type="submit" class="secondary">
            Add override
          </button>
        </form>
      ) : null}
    </Shell>
  );
};

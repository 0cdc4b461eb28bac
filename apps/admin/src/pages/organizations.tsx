import type { InvitationView, Member, OrganizationRow, RoleView } from "@burrow/platform-rbac";
import { ActionButton, CsrfField, type Frame, Pager, Shell, Table, when } from "../layout.tsx";

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
            {manage ? (
              <td>
                <ActionButton
                  action={`${base}/members/${member.userId}/remove`}
                  csrf={frame.csrf}
                  label="Remove"
                  kind="secondary"
                />
              </td>
            ) : null}
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
    </Shell>
  );
};

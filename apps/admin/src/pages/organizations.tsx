import type { InvitationView, Member, OrganizationRow, RoleView } from "@burrow/platform-rbac";
import { ActionButton, CsrfField, type Frame, Shell } from "../layout.tsx";

const when = (date: Date | null) => (date === null ? "—" : date.toISOString().replace("T", " ").slice(0, 16));

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
      {props.page.data.length === 0 ? (
        <div class="empty">No organizations match.</div>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Slug</th>
              <th scope="col">Members</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
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
          </tbody>
        </table>
      )}
      {props.page.nextCursor === null ? null : (
        <div class="pager">
          <a class="button" href={`/orgs?${next.toString()}`}>
            Next page
          </a>
        </div>
      )}
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
      {props.members.length === 0 ? (
        <div class="empty">No members.</div>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              {manage ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
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
          </tbody>
        </table>
      )}
      {props.invitations === null ? null : (
        <>
          <h2>Invitations</h2>
          {props.invitations.length === 0 ? (
            <div class="empty">No pending invitations.</div>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Address</th>
                  <th scope="col">Role</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Expires</th>
                  {frame.can("members:invite") ? <th scope="col">Action</th> : null}
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          )}
        </>
      )}
    </Shell>
  );
};

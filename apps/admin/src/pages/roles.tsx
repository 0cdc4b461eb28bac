import type { EligibilityView, ElevationRow } from "@burrow/platform-rbac";
import { ActionCell, CsrfField, type Frame, Shell, Table, when } from "../layout.tsx";
import { Approval } from "./users.tsx";

export type PlatformRoleView = {
  id: string;
  key: string;
  name: string;
  permissions: string[];
  holders: { userId: string; email: string }[];
};

export const RolesPage = (props: {
  frame: Frame;
  roles: PlatformRoleView[];
  eligibilities: EligibilityView[];
  elevations: (ElevationRow & { email: string; roleKey: string; roleName: string })[];
  status: ElevationRow["status"] | undefined;
  notice?: string | undefined;
}) => (
  <Shell frame={props.frame} title="Roles and elevations" notice={props.notice}>
    <h2>Platform roles</h2>
    <table>
      <thead>
        <tr>
          <th scope="col">Role</th>
          <th scope="col">Permissions</th>
          <th scope="col">Held by</th>
        </tr>
      </thead>
      <tbody>
        {props.roles.map((role) => (
          <tr>
            <td>
              {role.name}
              <div class="muted">
                <code>{role.key}</code>
              </div>
            </td>
            <td>
              <code>{role.permissions.join(" ")}</code>
            </td>
            <td>
              {role.holders.length === 0
                ? "nobody"
                : role.holders.map((holder) => (
                    <div>
                      <a href={`/users/${holder.userId}`}>{holder.email}</a>
                    </div>
                  ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    <h2>Eligible-only platform roles</h2>
    <Table
      empty={"Nobody is eligible to elevate into a platform role."}
      rows={props.eligibilities}
      headings={["User", "Role", "Approval", "Since", props.frame.can("users:manage") ? "Action" : null]}
    >
      {props.eligibilities.map((eligibility) => (
        <tr>
          <td>
            <a href={`/users/${eligibility.userId}`}>
              <code>{eligibility.userId}</code>
            </a>
          </td>
          <td>{eligibility.role}</td>
          <td>
            <Approval permission={eligibility.approverPermission} />
          </td>
          <td class="nowrap">{when(eligibility.createdAt)}</td>
          <ActionCell
            show={props.frame.can("users:manage")}
            action={`/roles/eligibilities/${eligibility.id}/revoke`}
            csrf={props.frame.csrf}
            label="Remove"
          />
        </tr>
      ))}
    </Table>
    <p class="muted">Make a user eligible from their page.</p>
    <h2>Elevations</h2>
    <p class="tabs">
      {([undefined, "pending", "active", "ended", "denied"] as const).map((status) => (
        <a
          href={status === undefined ? "/roles" : `/roles?status=${status}`}
          aria-current={status === props.status ? "page" : undefined}
        >
          {status ?? "all"}
        </a>
      ))}
    </p>
    <Table
      empty={"No elevations."}
      rows={props.elevations}
      headings={["Requested (UTC)", "User", "Role", "Reason", "State"]}
    >
      {props.elevations.map((elevation) => (
        <tr>
          <td class="nowrap">{when(elevation.requestedAt)}</td>
          <td>
            <a href={`/users/${elevation.userId}`}>{elevation.email}</a>
          </td>
          <td>
            {elevation.roleName}
            {elevation.orgId === null ? null : <div class="muted">in {elevation.orgId}</div>}
          </td>
          <td>
            {elevation.reason}
            <div class="muted">{elevation.minutes} minutes</div>
          </td>
          <td>
            <span
              class={`badge ${elevation.status === "active" ? "active" : elevation.status === "pending" ? "invited" : ""}`}
            >
              {elevation.status}
            </span>
            {elevation.status === "active" ? <div class="muted">until {when(elevation.endsAt)}</div> : null}
            {elevation.status === "pending" ? (
              <div class="actions">
                <form class="inline" method="post" action={`/roles/elevations/${elevation.id}/approve`}>
                  <CsrfField token={props.frame.csrf} />
                  <button type="submit">Approve</button>
                </form>
                <form class="inline" method="post" action={`/roles/elevations/${elevation.id}/deny`}>
                  <CsrfField token={props.frame.csrf} />
                  <button type="submit" class="secondary">
                    Deny
                  </button>
                </form>
              </div>
            ) : null}
          </td>
        </tr>
      ))}
    </Table>
  </Shell>
);

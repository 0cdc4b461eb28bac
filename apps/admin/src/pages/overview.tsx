import { type Frame, Shell, Solo } from "../layout.tsx";

export const OverviewPage = (props: { frame: Frame }) => (
  <Shell frame={props.frame} title="Overview">
    <div class="cards">
      {props.frame.can("users:read") ? (
        <a class="card" href="/users">
          <strong>Users</strong>
          <div class="muted">Find an account, see its sessions, suspend, unlock or delete it.</div>
        </a>
      ) : null}
    </div>
  </Shell>
);

export const ErrorPage = (props: { status: number; message: string }) => (
  <Solo title={props.status === 404 ? "Not found" : props.status === 403 ? "Not allowed" : "That did not work"}>
    <p>{props.message}</p>
    <p>
      <a href="/">Back to the console</a>
    </p>
  </Solo>
);

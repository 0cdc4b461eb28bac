// The console's passkey ceremony, the one script its sign-in pages load (bundled by Bun.build, served
// from the console's own origin under `script-src 'self'`). A page offers a passkey as a hidden form
// `data-passkey="authenticate|register"` carrying the server's options; with WebAuthn at hand the form
// is shown, and on submit the browser's answer goes into its `response` field and the form posts as
// any other. Without script the form stays hidden and the page works with its code form alone.
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";

async function ceremony(form: HTMLFormElement): Promise<unknown> {
  const options: unknown = JSON.parse(form.dataset.options ?? "{}");
  if (form.dataset.passkey === "register")
    return startRegistration({ optionsJSON: options as PublicKeyCredentialCreationOptionsJSON });
  return startAuthentication({ optionsJSON: options as PublicKeyCredentialRequestOptionsJSON });
}

function offer(form: HTMLFormElement): void {
  const field = form.querySelector<HTMLInputElement>('input[name="response"]');
  const problem = form.querySelector<HTMLElement>("[data-passkey-error]");
  if (field === null) return;
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (problem !== null) problem.hidden = true;
    try {
      field.value = JSON.stringify(await ceremony(form));
    } catch (error) {
      // Cancelled, timed out, or no matching passkey: the page's other way in stays.
      if (problem !== null) {
        problem.textContent = `The passkey did not answer (${error instanceof Error ? error.name : "error"}). Try again, or use a code.`;
        problem.hidden = false;
      }
      return;
    }
    // form.submit() posts without firing this listener again.
    form.submit();
  });
}

if (browserSupportsWebAuthn())
  for (const form of document.querySelectorAll<HTMLFormElement>("form[data-passkey]")) offer(form);

/** A local stand-in for Twilio's Messages API: checks what Burrow sends and keeps it. */
export function startFakeTwilio() {
  const texts: { to: string; from: string; body: string }[] = [];
  let failing = false;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== "POST" || url.pathname !== "/2010-04-01/Accounts/AC123/Messages.json")
        return new Response("not found", { status: 404 });
      if (request.headers.get("authorization") !== `Basic ${btoa("AC123:secret-token")}`)
        return new Response("unauthorized", { status: 401 });
      if (failing) return new Response("unavailable", { status: 503 });
      const form = new URLSearchParams(await request.text());
      texts.push({ to: form.get("To")!, from: form.get("From")!, body: form.get("Body")! });
      return Response.json({ sid: `SM${texts.length}` }, { status: 201 });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return {
    texts,
    url,
    /** The settings that make Burrow text through this stand-in. */
    env: {
      SMS_TWILIO_ACCOUNT_SID: "AC123",
      SMS_TWILIO_AUTH_TOKEN: "secret-token",
      SMS_FROM: "+15550001111",
      SMS_TWILIO_BASE_URL: url,
    },
    setFailing: (value: boolean) => void (failing = value),
    stop: () => server.stop(true),
  };
}

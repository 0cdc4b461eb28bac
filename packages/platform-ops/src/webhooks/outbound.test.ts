import { afterAll, describe, expect, test } from "bun:test";
import { checkWebhookUrl, forbiddenAddress, postWebhook, RefusedAddress, type Resolve } from "./outbound.ts";

const OPTIONS = { allowLoopback: false, timeoutMs: 2000, maxBodyBytes: 4096 };

describe("the SSRF guard", () => {
  test("refuses every address inside the network, in every spelling, and allows public ones", () => {
    const inside = [
      "127.0.0.1",
      "127.255.0.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.254",
      "192.168.0.1",
      "169.254.169.254",
      "100.64.0.1",
      "100.127.255.254",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fc00::1",
      "fd00:ec2::254",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:a9fe:a9fe",
      "::ffff:10.0.0.1",
      "64:ff9b::10.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "2002:a00:1::",
    ];
    for (const address of inside) expect([address, forbiddenAddress(address)]).toEqual([address, expect.any(String)]);
    for (const address of [
      "93.184.216.34",
      "8.8.8.8",
      "172.32.0.1",
      "100.128.0.1",
      "2606:4700::1111",
      "::ffff:8.8.8.8",
    ])
      expect([address, forbiddenAddress(address)]).toEqual([address, undefined]);
    expect(forbiddenAddress("127.0.0.1", { allowLoopback: true })).toBeUndefined();
    expect(forbiddenAddress("::1", { allowLoopback: true })).toBeUndefined();
    expect(forbiddenAddress("::ffff:127.0.0.1", { allowLoopback: true })).toBeUndefined();
    expect(forbiddenAddress("10.0.0.1", { allowLoopback: true })).toBeDefined();
  });

  test("a URL must be http(s), without credentials, not an inside address; https only in production", () => {
    expect(checkWebhookUrl("https://hooks.example.com/burrow").hostname).toBe("hooks.example.com");
    for (const url of [
      "file:///etc/passwd",
      "gopher://example.com",
      "https://a:b@example.com/",
      "http://[::1]/",
      "http://2130706433/", // 127.0.0.1 as one number
      "http://0x7f.1/", // and in hex
      "http://localhost:3000/",
      "http://metadata.google.internal/",
    ])
      expect(() => checkWebhookUrl(url)).toThrow();
    expect(() => checkWebhookUrl("http://hooks.example.com/", { production: true })).toThrow();
    expect(checkWebhookUrl("http://localhost:3000/", { allowLoopback: true }).port).toBe("3000");
  });

  describe("at connect time", () => {
    const hits: string[] = [];
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        hits.push(new URL(request.url).pathname);
        return new Response("ok");
      },
    });
    afterAll(() => server.stop(true));
    const url = (path: string) => new URL(`http://hooks.example.test:${server.port}${path}`);
    const post = (path: string, resolve: Resolve, allowLoopback = false) =>
      postWebhook(url(path), {}, "{}", { ...OPTIONS, allowLoopback, resolve });

    test("a name that resolves inside the network is refused before any connection", async () => {
      const inside: Resolve = async () => [{ address: "127.0.0.1", family: 4 }];
      await expect(post("/inside", inside)).rejects.toBeInstanceOf(RefusedAddress);
      const mixed: Resolve = async () => [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ];
      await expect(post("/mixed", mixed, true)).rejects.toBeInstanceOf(RefusedAddress);
      const mapped: Resolve = async () => [{ address: "::ffff:127.0.0.1", family: 6 }];
      await expect(post("/mapped", mapped)).rejects.toBeInstanceOf(RefusedAddress);
      expect(hits).toEqual([]);
    });

    test("DNS rebinding: the check and the connection use one answer, so a second answer cannot slip in", async () => {
      // The first answer is public (an earlier check would pass); every later one points inside.
      let calls = 0;
      const rebinding: Resolve = async () =>
        calls++ === 0 ? [{ address: "93.184.216.34", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
      // Resolve once, as a check before the request would…
      expect(forbiddenAddress((await rebinding("hooks.example.test"))[0]!.address)).toBeUndefined();
      // …and the connection's own look-up sees the inside answer and refuses.
      await expect(post("/rebound", rebinding)).rejects.toBeInstanceOf(RefusedAddress);
      expect(hits).toEqual([]);
    });

    test("with loopback allowed, the connection goes to the address that was checked", async () => {
      const loopback: Resolve = async () => [{ address: "127.0.0.1", family: 4 }];
      const result = await post("/allowed", loopback, true);
      expect(result.status).toBe(200);
      expect(hits).toEqual(["/allowed"]);
    });
  });
});

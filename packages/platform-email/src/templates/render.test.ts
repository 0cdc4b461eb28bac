import { describe, expect, test } from "bun:test";
import { DEFAULT_TEMPLATES } from "./defaults.ts";
import { createRenderer, htmlToText, validateTemplate } from "./render.ts";

const branding = { productName: "Acme ID", brandColor: "#0f766e" };

describe("templates", () => {
  test("every default template compiles under strict MJML and declares what it uses", async () => {
    for (const template of DEFAULT_TEMPLATES) await validateTemplate(template, branding);
    expect(DEFAULT_TEMPLATES.map((template) => template.key).sort()).toEqual([
      "auth.account_setup",
      "auth.email_add_confirm",
      "auth.email_added_notice",
      "auth.email_change_confirm",
      "auth.email_changed_notice",
      "auth.magic_link",
      "auth.new_sign_in",
      "auth.otp_code",
      "auth.password_changed",
      "auth.password_reset",
      "auth.primary_email_changed",
      "auth.sign_up_existing_account",
      "auth.verify_email",
      "org.invitation",
      "security.account_claimed",
      "security.mfa_changed",
      "security.mfa_failures",
    ]);
  });

  test("no message loads anything from a third party: no web fonts, no stylesheet links, no remote images", async () => {
    const renderer = createRenderer(branding);
    // An operator's template that names a font MJML would fetch from Google Fonts gets none either.
    const custom = {
      subject: "Hi",
      mjml: `<mjml><mj-body><mj-section><mj-column><mj-text font-family="Lato, Roboto, sans-serif">Hello</mj-text></mj-column></mj-section></mj-body></mjml>`,
      text: null,
      variables: [],
    };
    for (const [key, source] of [
      ...DEFAULT_TEMPLATES.map((template) => [template.key, template] as const),
      ["custom", custom] as const,
    ]) {
      const { html } = await renderer.compile(key, source);
      expect(html).not.toContain("fonts.googleapis");
      expect(html).not.toMatch(/<link\b/i);
      expect(html).not.toMatch(/@import/i);
      expect(html).not.toMatch(/<img\b/i);
      expect(html).not.toMatch(/\bsrc=|url\(/i);
      // The only links in a message are the ones its variables put there (xmlns names are not fetched).
      expect(
        [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1]).filter((href) => href !== "{{url}}"),
      ).toEqual([]);
    }
  });

  test("rendering fills branding and escapes variables in HTML", async () => {
    const renderer = createRenderer(branding);
    const template = DEFAULT_TEMPLATES.find((entry) => entry.key === "auth.email_change_confirm")!;
    const compiled = await renderer.compile("t1", template);
    const email = renderer.render(compiled, {
      url: "https://id.example.com/confirm?token=a&b=1",
      newEmail: '<script>alert("x")</script>@evil.example',
    });
    expect(email.subject).toBe("Confirm your new email address");
    expect(email.html).toContain("Acme ID");
    expect(email.html).toContain("#0f766e");
    expect(email.html).toContain('href="https://id.example.com/confirm?token=a&amp;b=1"');
    expect(email.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;@evil.example");
    expect(email.html).not.toContain("<script>alert");
    expect(email.html).not.toContain("{{");
    expect(email.text).toContain("https://id.example.com/confirm?token=a&b=1");
    expect(email.text).toContain("— Acme ID");
  });

  test("the subject cannot be split into headers by a variable", async () => {
    const renderer = createRenderer(branding);
    const compiled = await renderer.compile("t2", DEFAULT_TEMPLATES.find((entry) => entry.key === "org.invitation")!);
    const email = renderer.render(compiled, {
      url: "https://x.example",
      orgName: "Acme\r\nBcc: victim@example.com",
      inviterName: "Eve",
    });
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  test("a missing variable is a programming error, never a message with a hole", async () => {
    const renderer = createRenderer(branding);
    const compiled = await renderer.compile("t3", DEFAULT_TEMPLATES.find((entry) => entry.key === "auth.magic_link")!);
    expect(() => renderer.render(compiled, {})).toThrow(/url/);
  });

  test("undeclared variables and broken MJML are refused with a clear problem", async () => {
    await expect(
      validateTemplate(
        { subject: "Hi {{name}}", mjml: "<mjml><mj-body></mj-body></mjml>", text: null, variables: [] },
        branding,
      ),
    ).rejects.toMatchObject({ code: "validation_failed", detail: expect.stringContaining("name") });
    await expect(
      validateTemplate(
        { subject: "Hi", mjml: "<mjml><mj-body><mj-nope>x</mj-nope></mj-body></mjml>", text: null, variables: [] },
        branding,
      ),
    ).rejects.toMatchObject({ code: "validation_failed", detail: expect.stringContaining("mj-nope") });
    await expect(
      validateTemplate(
        {
          subject: "Hi",
          mjml: "<mjml><mj-body><mj-column><mj-section></mj-section></mj-column></mj-body></mjml>",
          text: null,
          variables: [],
        },
        branding,
      ),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      validateTemplate({ subject: "Hi", mjml: "not mjml at all", text: null, variables: [] }, branding),
    ).rejects.toMatchObject({ code: "validation_failed" });
    // The problem never names a server path.
    const problem = await validateTemplate(
      {
        subject: "Hi",
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text padding="banana">x</mj-text></mj-column></mj-section></mj-body></mjml>',
        text: null,
        variables: [],
      },
      branding,
    ).catch((error: { detail: string }) => error);
    expect((problem as { detail: string }).detail).toContain("Line 1 (mj-text)");
    expect((problem as { detail: string }).detail).not.toContain(process.cwd());
  });

  test("compiles once per version and derives a text part when none is given", async () => {
    const renderer = createRenderer(branding);
    const source = {
      subject: "Hello",
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Go to <a href="{{url}}">the page</a></mj-text></mj-column></mj-section></mj-body></mjml>',
      text: null,
      variables: ["url"],
    };
    const first = await renderer.compile("v1", source);
    expect(await renderer.compile("v1", { ...source, subject: "changed" })).toBe(first);
    const email = renderer.render(first, { url: "https://a.example/x" });
    expect(email.text).toBe("Go to the page (https://a.example/x)");
    expect(htmlToText("<p>a &amp; b</p><p>c</p>")).toBe("a & b\nc");
  });
});

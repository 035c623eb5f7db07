// Connect an app: what to paste into an application (host, ports, TLS modes,
// username, snippets for common libraries and SDKs), and a test message sent
// through the same accept step as the API, whose delivery shows up live.
import type { FastifyInstance } from 'fastify';
import { SmtpError } from '../../delivery/smtp-reply.ts';
import { composeMessage } from '../../ingress/http/compose.ts';
import { parseSingleAddress } from '../../ingress/http/email-input.ts';
import { ApiError } from '../../ingress/http/errors.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox, page } from '../layout.ts';
import { recipientTimelines } from '../views/message-detail.ts';

function snippets(host: string, user: string, port: number, api: string): [string, string][] {
  return [
    ['Node.js (nodemailer)', `const transporter = nodemailer.createTransport({
  host: '${host}', port: ${port}, secure: false, // STARTTLS
  auth: { user: '${user}', pass: process.env.SMTP_PASSWORD },
});
await transporter.sendMail({ from: 'app@example.com', to: 'you@example.org', subject: 'Hello', text: 'It works' });`],
    ['Python (smtplib)', `import os, smtplib, ssl
from email.message import EmailMessage
msg = EmailMessage()
msg['From'], msg['To'], msg['Subject'] = 'app@example.com', 'you@example.org', 'Hello'
msg.set_content('It works')
with smtplib.SMTP('${host}', ${port}) as s:
    s.starttls(context=ssl.create_default_context())
    s.login('${user}', os.environ['SMTP_PASSWORD'])
    s.send_message(msg)`],
    ['Django (settings.py)', `EMAIL_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'
EMAIL_HOST = '${host}'
EMAIL_PORT = ${port}
EMAIL_USE_TLS = True
EMAIL_HOST_USER = '${user}'
EMAIL_HOST_PASSWORD = os.environ['SMTP_PASSWORD']`],
    ['Rails (config/environments/production.rb)', `config.action_mailer.delivery_method = :smtp
config.action_mailer.smtp_settings = {
  address: '${host}', port: ${port}, user_name: '${user}', password: ENV['SMTP_PASSWORD'],
  authentication: :plain, enable_starttls_auto: true,
}`],
    ['WordPress (a must-use plugin)', `add_action('phpmailer_init', function ($mail) {
  $mail->isSMTP();
  $mail->Host = '${host}'; $mail->Port = ${port}; $mail->SMTPSecure = 'tls';
  $mail->SMTPAuth = true; $mail->Username = '${user}'; $mail->Password = getenv('SMTP_PASSWORD');
});`],
    ["Resend's SDK (Node.js)", `import { Resend } from 'resend';
const resend = new Resend(process.env.SMARTHOST_API_KEY, { baseUrl: '${api}' });
await resend.emails.send({ from: 'app@example.com', to: 'you@example.org', subject: 'Hello', text: 'It works' });`],
    ["Postmark's SDK (Node.js)", `import { ServerClient } from 'postmark';
const client = new ServerClient(process.env.SMARTHOST_API_KEY, { requestHost: '${api.replace(/^https?:\/\//, '')}', useHttps: ${api.startsWith('https')} });
await client.sendEmail({ From: 'app@example.com', To: 'you@example.org', Subject: 'Hello', TextBody: 'It works' });`],
  ];
}

export function connectRoutes(app: FastifyInstance, { store, accept, dashboard }: DashboardDeps): void {
  const { hostname, ports, httpTls } = dashboard.connect;

  app.get('/connect', { config: { access: 'page' } }, async (req, reply) => {
    const live = await store.lastEventId(); // see PageOptions.live
    const users = (await store.listCredentials()).filter((c) => !c.disabled).map((c) => c.username);
    const user = users[0] ?? 'your-username';
    const api = `${httpTls ? 'https' : 'http'}://${hostname}${ports.http === (httpTls ? 443 : 80) ? '' : `:${ports.http}`}`;
    const port = ports.submission || ports.alt || ports.smtps;
    const rows: [string, number, string][] = [
      ['Submission', ports.submission, 'STARTTLS (start plain, then upgrade); the usual choice'],
      ['SMTPS', ports.smtps, 'TLS from the first byte (implicit TLS)'],
      ['Alternative', ports.alt, 'STARTTLS, for networks that block 587'],
    ];
    const body = html`<h1>Connect an app</h1>
<section class="card" aria-labelledby="smtp-h"><h2 id="smtp-h">SMTP</h2>
<dl class="facts">
  <dt>Host</dt><dd class="mono">${hostname}</dd>
  <dt>Username</dt><dd>${users.length ? users.map((u, i) => html`${i > 0 && ', '}<span class="mono">${u}</span>`) : html`none yet: create one with <code>smarthost credentials add NAME</code>`}</dd>
  <dt>Password</dt><dd>the credential's password (shown once when it was created)</dd>
</dl>
<div class="table-wrap"><table><thead><tr><th scope="col">Port</th><th scope="col">TLS</th><th scope="col">Use</th></tr></thead><tbody>
${rows.filter(([, p]) => p > 0).map(([name, p, tls]) => html`<tr><td class="mono">${p}</td><td>${tls}</td><td>${name}</td></tr>`)}
</tbody></table></div></section>
<section class="card" aria-labelledby="api-h"><h2 id="api-h">HTTPS API</h2>
<dl class="facts"><dt>Base URL</dt><dd class="mono">${api}</dd><dt>Key</dt><dd>an API key: <code>smarthost keys create NAME</code></dd>
<dt>Endpoints</dt><dd><code>POST /emails</code> (Resend's shape), <code>POST /email</code> (Postmark's shape)</dd></dl></section>
<section aria-labelledby="snip-h"><h2 id="snip-h">Snippets</h2>
${snippets(hostname, user, port, api).map(([title, code], i) => html`<details ${i === 0 ? 'open' : ''}><summary>${title}</summary>
<pre><code id="snippet-${i}">${code}</code></pre><button type="button" class="secondary copy" data-copy="snippet-${i}">Copy</button></details>`)}
</section>
<section class="card" aria-labelledby="test-h"><h2 id="test-h">Send a test message</h2>
<form method="post" action="/ui/connect/test" hx-post="/ui/connect/test" hx-target="#test-result" hx-swap="innerHTML" class="row">
  ${csrfField(req.adminSession)}
  <div><label for="t-from">From</label><input id="t-from" name="from" type="email" required placeholder="app@example.com"></div>
  <div><label for="t-to">To</label><input id="t-to" name="to" type="email" required placeholder="you@example.org"></div>
  <div class="actions"><button type="submit">Send test message</button></div>
</form>
<div id="test-result" aria-live="polite"></div></section>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Connect an app', section: 'connect', session: req.adminSession, body, live }));
  });

  app.post<{ Body: { from?: string; to?: string } }>('/connect/test', { config: { access: 'data' } }, async (req, reply) => {
    const live = await store.lastEventId(); // before the message is accepted: see PageOptions.live
    let result: Html;
    try {
      const from = parseSingleAddress('From', String(req.body?.from ?? ''));
      const to = parseSingleAddress('To', String(req.body?.to ?? ''));
      const { sender, recipients, raw } = await composeMessage({
        from, to: [to], cc: [], bcc: [], replyTo: [], subject: 'smarthost test message', text: 'This is a test message sent from the smarthost dashboard.',
        headers: [], attachments: [], tags: [{ name: 'test', value: 'dashboard' }],
      });
      // The operator is logged in: sent like mail from a trusted network (no credential), through the one accept step.
      const accepted = await accept({ source: 'http', clientAddress: req.ip, protocol: dashboard.secure ? 'HTTPS' : 'HTTP', sender, recipients, raw });
      const m = (await store.getMessageSummary(accepted.id))!;
      const events = await store.listEvents(m.id);
      result = html`<p class="notice" role="status">Accepted as <a href="/ui/messages/${m.id}">${m.id}</a>. Its delivery shows below as it happens.</p>
${recipientTimelines(m, events, new Set(accepted.suppressed.map((a) => a.toLowerCase())), req.adminSession, true)}`;
    } catch (err) {
      const message = err instanceof SmtpError ? `Refused: ${err.reply.text}` : err instanceof ApiError ? err.message : undefined;
      if (message === undefined) throw err;
      result = errorBox(`${message}. Correct it and send again.`)!;
    }
    // htmx swaps the fragment in; a browser without JavaScript gets a whole page.
    if (req.headers['hx-request']) return reply.type('text/html; charset=utf-8').send(result.value);
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Test message', section: 'connect', session: req.adminSession, body: result, live }));
  });
}

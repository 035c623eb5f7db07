// Refusals and failures as a page in plain words: what happened, what to do.
import type { FastifyReply } from 'fastify';
import { html } from './html.ts';
import { errorBox, page } from './layout.ts';

/** Never a stack trace: the message is always one of ours. */
export function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  const title = status === 404 ? 'Not found' : status === 401 ? 'Log in' : status >= 500 ? 'Something went wrong' : 'Refused';
  const body = html`<h1>${title}</h1>${errorBox(message)}<p><a href="/ui/">Back to the dashboard</a></p>`;
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page({ title, section: 'error', body }));
}


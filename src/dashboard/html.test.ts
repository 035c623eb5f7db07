import assert from 'node:assert/strict';
import { test } from 'node:test';
import { html, trusted } from './html.ts';

test('interpolated text is escaped, nested Html and lists are not, false and null vanish', () => {
  const subject = `<script>alert("x")</script> & 'y'`;
  const out = html`<p title="${subject}">${subject}</p>${[html`<b>1</b>`, '<i>']}${false}${null}${undefined}${0}`;
  assert.equal(out.value,
    '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;</p><b>1</b>&lt;i&gt;0');
  assert.equal(html`${trusted('<svg></svg>')}`.value, '<svg></svg>');
});

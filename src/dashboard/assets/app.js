// The dashboard's only script: local times, live refresh over server-sent
// events, copy buttons, confirmations. htmx does the partial page updates.
(function () {
  'use strict';

  // Times arrive as exact UTC (also kept in the title, shown on hover); show them in the viewer's time zone.
  function localizeTimes(root) {
    root.querySelectorAll('time[datetime]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (!isNaN(d)) el.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
    });
    root.querySelectorAll('input[data-timezone-offset]').forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
  }

  // One stream per page; on each change refresh what shows the touched messages (htmx "live" trigger).
  function followLive(url) {
    var pending = null;
    var touched = new Set();
    var source = new EventSource(url);
    source.addEventListener('change', function (ev) {
      JSON.parse(ev.data).messages.forEach(function (id) { touched.add(id); });
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        var ids = touched;
        touched = new Set();
        document.querySelectorAll('[data-live-refresh]').forEach(function (el) { htmx.trigger(el, 'live'); });
        document.querySelectorAll('[data-live-message]').forEach(function (el) {
          if (ids.has(el.getAttribute('data-live-message'))) htmx.trigger(el, 'live');
        });
      }, 250);
    });
  }

  document.addEventListener('click', function (ev) {
    var button = ev.target.closest && ev.target.closest('button[data-copy]');
    if (!button) return;
    var code = document.getElementById(button.getAttribute('data-copy'));
    if (!code) return;
    // Without the clipboard API (a plain-HTTP origin) or its permission: select the text for Ctrl+C.
    function select() {
      var range = document.createRange();
      range.selectNodeContents(code);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = 'Selected: press Ctrl+C';
    }
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(code.textContent).then(function () { button.textContent = 'Copied'; }, select);
    else select();
  });

  document.addEventListener('submit', function (ev) {
    var question = ev.target.getAttribute('data-confirm');
    if (question && !window.confirm(question)) ev.preventDefault();
  });

  document.addEventListener('DOMContentLoaded', function () {
    localizeTimes(document);
    // A page showing a secret once answers a POST: point its history entry at the plain page, so reloading
    // loads that page (which never shows the secret) instead of sending the form again.
    var replace = document.querySelector('[data-replace-url]');
    if (replace) history.replaceState(null, '', replace.getAttribute('data-replace-url'));
    document.body.addEventListener('htmx:afterSettle', function (ev) { localizeTimes(ev.target); });
    var live = document.body.getAttribute('data-live');
    if (live && window.EventSource) followLive(live);
  });
})();

// Page behaviour that would otherwise be inline handlers, which the Content-Security-Policy refuses
// (core/headers.py): data-action="print" | "back" buttons and links, data-confirm="…" on forms.
document.addEventListener('click', function (event) {
  var el = event.target.closest('[data-action]');
  if (!el) { return; }
  var action = el.getAttribute('data-action');
  if (action === 'print') { event.preventDefault(); window.print(); }
  if (action === 'back' && window.history.length > 1) { event.preventDefault(); window.history.back(); }
});
document.addEventListener('submit', function (event) {
  var message = event.target.getAttribute && event.target.getAttribute('data-confirm');
  if (message && !window.confirm(message)) { event.preventDefault(); }
});
document.addEventListener('keydown', function (event) {
  // A search box inside a form (data-no-enter-submit): Enter searches, it does not submit the form.
  if (event.key === 'Enter' && event.target.closest && event.target.closest('[data-no-enter-submit]')) {
    event.preventDefault();
  }
});

// The ICD-10 picker (care/records/_macros.html): a click on an option puts its code into the picker's input
// and shows its name. Delegated, so options loaded later by htmx need no inline handler (CSP).
document.addEventListener('click', function (event) {
  var button = event.target.closest('[data-action="pick-icd"]');
  if (!button) { return; }
  var box = button.closest('.icd-picker');
  box.querySelector('input').value = button.getAttribute('data-code');
  box.querySelector('.icd-label').textContent = button.getAttribute('data-name');
  box.querySelector('.icd-options').innerHTML = '';
});

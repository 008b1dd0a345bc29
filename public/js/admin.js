// Small progressive enhancements for admin pages. Everything works without this file:
// forms submit normally, and secrets are visible to copy by hand.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = 'Copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(source);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = 'Press Ctrl+C';
  }
});

document.addEventListener('submit', (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener('change', (event) => {
  const all = event.target.closest('[data-check-all]');
  if (!all) return;
  for (const box of all.form.querySelectorAll(`input[type="checkbox"][name="${all.dataset.checkAll}"]`)) box.checked = all.checked;
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  const message = form.dataset.confirmDelete;
  if (message && form.querySelector('select[name="action"]')?.value === 'delete' && !window.confirm(message)) event.preventDefault();
});

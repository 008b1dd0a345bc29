// Upgrades the download form to an upload with a real progress bar (XMLHttpRequest upload
// events). Without JavaScript the same form posts as a plain multipart form.
for (const form of document.querySelectorAll('form[data-upload-form]')) {
  const progressRow = form.querySelector('[data-progress]');
  const bar = progressRow?.querySelector('progress');
  const text = form.querySelector('[data-progress-text]');
  const errorBox = document.getElementById('form-error');
  const submit = form.querySelector('button[type="submit"]');

  // An archive import reports every manifest problem at once: one list item each.
  const showError = (message, problems = []) => {
    if (!errorBox) return window.alert(message);
    errorBox.replaceChildren();
    const lead = document.createElement('p');
    lead.textContent = problems.length > 1 ? `${problems.length} problems; nothing was saved:` : message;
    errorBox.append(lead);
    if (problems.length > 1) {
      const list = document.createElement('ul');
      for (const problem of problems) {
        const item = document.createElement('li');
        item.textContent = problem.message;
        list.append(item);
      }
      errorBox.append(list);
    }
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: 'center' });
  };

  form.addEventListener('submit', (event) => {
    if (!window.FormData || !window.XMLHttpRequest) return;
    const fileInput = form.querySelector('input[type="file"]');
    const file = fileInput?.files?.[0];
    const max = Number(fileInput?.dataset.maxBytes || 0);
    if (file && max && file.size > max) {
      event.preventDefault();
      showError(`The file is larger than the upload limit (${Math.round(max / 1048576)} MB).`);
      return;
    }
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', form.querySelector('input[name="_csrf"]').value);
    if (progressRow && file) progressRow.hidden = false;
    if (submit) submit.disabled = true;
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable || !bar) return;
      const percent = Math.floor((e.loaded / e.total) * 100);
      bar.value = percent;
      text.textContent = `${percent}% (${(e.loaded / 1048576).toFixed(1)} of ${(e.total / 1048576).toFixed(1)} MB)`;
    });
    // The bytes are there; the server now checks (and for archives, unpacks) them.
    xhr.upload.addEventListener('load', () => {
      if (text) text.textContent = 'Uploaded; processing…';
    });
    xhr.addEventListener('load', () => {
      if (submit) submit.disabled = false;
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      if (xhr.status >= 200 && xhr.status < 300 && body.redirect) {
        if (text) text.textContent = 'Done.';
        window.location.assign(body.redirect);
        return;
      }
      if (progressRow) progressRow.hidden = true;
      const problems = Array.isArray(body.error?.problems) ? body.error.problems : [];
      showError(body.error?.message || `The upload failed (HTTP ${xhr.status}).`, problems);
    });
    xhr.addEventListener('error', () => {
      if (submit) submit.disabled = false;
      if (progressRow) progressRow.hidden = true;
      showError('The connection was lost during the upload. Try again.');
    });
    xhr.send(new FormData(form));
  });
}

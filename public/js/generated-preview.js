// Live preview of a generated download: the form's current values are posted to the preview
// endpoint (after a pause in typing); the answer, an image or a text, replaces the one shown.
// Without JavaScript the form still saves; the saved download can be tried from its page.
for (const section of document.querySelectorAll('[data-generated-form]')) {
  const form = section.closest('form');
  const url = section.dataset.previewUrl;
  const image = section.querySelector('[data-preview-image]');
  const text = section.querySelector('[data-preview-text]');
  const status = section.querySelector('[data-preview-status]');
  const assetInput = section.querySelector('input[type="file"]');
  let timer;
  let controller;
  let objectUrl;

  const say = (message, state) => {
    status.textContent = message;
    section.dataset.previewState = state;
  };
  const schedule = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  };

  async function refresh() {
    if (assetInput && assetInput.required && !assetInput.files.length) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const data = new FormData(form);
    // The stored input file stands in when no new one is chosen.
    if (assetInput && !assetInput.files.length) data.delete(assetInput.name);
    say('Updating the preview…', 'loading');
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        body: data,
        credentials: 'same-origin',
        signal: controller.signal,
        headers: { 'X-CSRF-Token': form.querySelector('input[name="_csrf"]').value, Accept: 'image/*, text/plain, application/json' },
      });
    } catch (error) {
      if (error.name !== 'AbortError') say('The preview could not be loaded. Check the connection.', 'error');
      return;
    }
    if (res.status === 429) {
      const wait = Number(res.headers.get('Retry-After')) || 5;
      say(`Too many previews at once; the next one in ${wait} s.`, 'waiting');
      schedule(wait * 1000);
      return;
    }
    if (!res.ok) {
      let message = `The preview failed (HTTP ${res.status}).`;
      try {
        message = (await res.json()).error.message || message;
      } catch {
        // not JSON: keep the status line
      }
      say(message, 'error');
      return;
    }
    if ((res.headers.get('Content-Type') || '').startsWith('image/')) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(await res.blob());
      image.src = objectUrl;
      image.hidden = false;
      text.hidden = true;
    } else {
      text.textContent = await res.text();
      text.hidden = false;
      image.hidden = true;
    }
    say('Preview of the values above (not saved yet).', 'ready');
  }

  form.addEventListener('input', (event) => {
    if (section.contains(event.target) && event.target.type !== 'file') schedule(500);
  });
  form.addEventListener('change', (event) => {
    if (section.contains(event.target)) schedule(event.target.type === 'file' ? 0 : 500);
  });
  schedule(0);
}

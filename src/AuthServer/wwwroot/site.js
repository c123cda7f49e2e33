// The pages' only script, served from this origin so that the Content-Security-Policy can forbid inline script.
// Data reaches it through data-* attributes, which the page HTML-encodes, never through code.
'use strict';

// A form with data-confirm asks before it is sent (revoking, deleting).
document.addEventListener('submit', (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
    }
});

// A button with data-copy copies the text of the element it names (a key or secret shown once).
document.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
    const source = button ? document.getElementById(button.dataset.copy) : null;
    if (source) {
        navigator.clipboard.writeText(source.textContent.trim()).then(() => { button.textContent = 'Copied'; });
    }
});

// A form with data-passkey="create" (add a passkey) or "get" (sign in with one) asks the server for the WebAuthn
// options at its data-options URL (posting the form, for its antiforgery token), lets the browser's authenticator
// answer, then sends the form with that answer in its credentialJson field.
document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.passkey) {
        return;
    }

    event.preventDefault();
    const status = form.querySelector('.passkey-status');
    try {
        if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
            throw new Error('This browser does not support passkeys.');
        }

        const response = await fetch(form.dataset.options, { method: 'POST', body: new FormData(form), credentials: 'same-origin' });
        if (!response.ok) {
            throw new Error(`The server could not start (${response.status}). Reload the page and try again.`);
        }

        const options = await response.json();
        const credential = form.dataset.passkey === 'create'
            ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
            : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
        form.elements.namedItem('credentialJson').value = JSON.stringify(credential.toJSON());
        form.submit(); // does not raise 'submit' again
    } catch (error) {
        status.textContent = error.name === 'NotAllowedError'
            ? 'No passkey was used (cancelled, or none for this site on this device).'
            : error.message;
    }
});

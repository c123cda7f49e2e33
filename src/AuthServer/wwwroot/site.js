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

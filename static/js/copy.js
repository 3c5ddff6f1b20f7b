// A button with data-copy="ID" copies the value of the element with that id, and says so.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
  } catch {
    field.select(); // no clipboard (a page not served over HTTPS or localhost): select it
    button.textContent = "Press Ctrl+C";
  }
});

/* The API token: kept in this browser's localStorage, asked for in the token dialog of
 * index.html when the API answers 401 or the user clicks "Token". */

const TOKEN_KEY = "scaleupd.token";

/* The saved token, or "" when there is none. */
export function savedToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

/* Opens the token dialog; reason replaces its explanation when given. */
export function askToken(reason) {
  const dialog = document.getElementById("token-dialog");
  if (reason) document.getElementById("token-reason").textContent = reason;
  document.getElementById("token-input").value = "";
  if (!dialog.open) dialog.showModal();
}

/* Wires the dialog's buttons; onChange runs after a token is saved or forgotten. */
export function setupTokenDialog(onChange) {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-button").addEventListener("click", () =>
    askToken("Paste a read token, or an admin token to acknowledge and silence alerts."));
  document.getElementById("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = document.getElementById("token-input").value.trim();
    if (value) localStorage.setItem(TOKEN_KEY, value);
    dialog.close();
    onChange();
  });
  document.getElementById("token-clear").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    dialog.close();
    onChange();
  });
}

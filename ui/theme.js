// Loaded as a classic script in <head>, before the first paint, so that a
// saved light or dark choice never flashes the other theme. "auto" (or no
// choice) follows the system's prefers-color-scheme through the stylesheet.
(function () {
  try {
    var saved = localStorage.getItem("agentrace.theme");
    if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
  } catch (_) {
    // Storage can be disabled; the system preference still applies.
  }
})();

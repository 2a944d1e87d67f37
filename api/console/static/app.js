// The router: each console path renders one page module into <main>; the URL is the state (shareable,
// the back button works). Same-origin links are followed without reloading the page.
import { currentSession, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import * as repositories from "./pages/repositories.js";
import * as repository from "./pages/repository.js";
import * as add from "./pages/add.js";
import * as findings from "./pages/findings.js";
import * as scans from "./pages/scans.js";
import * as posture from "./pages/posture.js";
import * as trends from "./pages/trends.js";
import * as settings from "./pages/settings.js";

const ROUTES = [
  [/^\/(repositories)?$/, repositories, "repositories"],
  [/^\/add$/, add, "repositories"],
  [/^\/repositories\/([^/]+)$/, repository, "repositories"],
  [/^\/findings$/, findings, "findings"],
  [/^\/scans$/, scans, "scans"],
  [/^\/posture(?:\/([^/]+))?$/, posture, "posture"],
  [/^\/trends$/, trends, "trends"],
  [/^\/settings$/, settings, "settings"],
];

let rendering = 0;

export function navigate(url, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

async function render() {
  const ticket = ++rendering;
  for (const dialog of document.querySelectorAll("dialog")) dialog.remove(); // an overlay ends with its page
  const main = document.getElementById("main");
  const path = location.pathname;
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  for (const link of document.querySelectorAll("nav a[data-section]")) {
    if (route && link.dataset.section === route[2]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!route) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "/repositories" }, "Go to Repositories")));
    return;
  }
  const [pattern, page] = route;
  const params = new URLSearchParams(location.search);
  const match = path.match(pattern);
  main.setAttribute("aria-busy", "true");
  // A filter or the search box redraws the page: keep the focus (and the caret) where the person was.
  const active = document.activeElement;
  const focusedName = main.contains(active) && active.name ? active.name : null;
  const caret = focusedName && typeof active.selectionStart === "number" ? active.selectionStart : null;
  try {
    await page.render(main, { params, id: match[1] && match[1] !== "repositories" ? decodeURIComponent(match[1]) : null, navigate, isCurrent: () => ticket === rendering });
    const again = focusedName && main.querySelector(`[name="${CSS.escape(focusedName)}"]`);
    if (again) {
      again.focus();
      if (caret !== null && typeof again.setSelectionRange === "function") again.setSelectionRange(caret, caret);
    } else if (rendering > 1 && ticket === rendering && !main.contains(document.activeElement)) {
      main.focus({ preventScroll: true }); // a new page: screen readers start at its content
    }
  } catch (error) {
    if (ticket === rendering) replace(main, h("h1", {}, "Something went wrong"), h("p", { class: "notice", role: "alert" }, String(error.message || error)));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a");
  if (!link || link.target || link.hasAttribute("download") || event.ctrlKey || event.metaKey || event.shiftKey) return;
  if (link.getAttribute("href")?.startsWith("#")) return; // in-page (the skip link)
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/console/") || url.pathname.startsWith("/graphql")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener("popstate", render);

async function start() {
  const me = await currentSession();
  document.getElementById("who").textContent = `${me.user} · ${me.accountName}`;
  document.getElementById("signout").addEventListener("click", signOut);
  await render();
}

start();

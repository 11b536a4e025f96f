// Building DOM nodes without HTML strings: every value reaches the page as
// a text node or an attribute, never as markup, so trace data (which
// clients control) cannot inject anything into the UI.

const SVG_NS = "http://www.w3.org/2000/svg";

function applyAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "class") {
      element.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function appendChildren(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: `h("a", {href: "/x", class: "link"}, "text", otherNode)`. */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  applyAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}

/** An SVG element, like `h`. */
export function s(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  applyAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}

/** Replaces an element's children. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  appendChildren(element, children);
}

/** A link handled by the app's router instead of a full page load. */
export function link(href, attributes, ...children) {
  return h("a", { ...attributes, href, "data-nav": true }, ...children);
}

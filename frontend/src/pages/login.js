// Login page: OAuth2 password flow against /api/v1/auth/token.
import { login } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../nav.js";

export const loginPage = {
  titleKey: "login.title",
  render(main, params) {
    const message = h("p", { class: "error", role: "alert", id: "login-error" });
    const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
    const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const form = h("form", { class: "card login", novalidate: false },
      h("h2", {}, t("login.title")),
      params.get("needed") ? h("p", { class: "hint" }, t("login.needed")) : null,
      h("label", { for: "username" }, t("login.username")), username,
      h("label", { for: "password" }, t("login.password")), password,
      h("button", { type: "submit", class: "primary", id: "login-submit" }, t("login.submit")),
      message);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      message.textContent = "";
      try {
        await login(username.value.trim(), password.value);
        navigate(params.get("next") || "/overview");
      } catch (error) {
        message.textContent = error.status === 401 ? t("login.failed") : t("login.error", { message: error.message });
      }
    });
    main.append(form);
    username.focus();
  },
};

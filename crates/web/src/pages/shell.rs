//! The frame every page shares: locale, signed-in user, CSRF token and navigation.
//! Page structs embed a `Shell` so `base.html` can render the layout around them.

use crate::auth::CurrentUser;
use crate::locale::Locale;
use crate::request_context::{self, Flash};

pub struct NavItem {
    pub href: &'static str,
    pub label_key: &'static str,
}

pub struct Shell {
    pub loc: Locale,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// The current path, for the language links and the active menu item.
    pub path: String,
    pub title_key: &'static str,
    /// The message the previous action left (shown once, above the content).
    pub flash: Option<Flash>,
    /// The address of this request, for the language links (so a choice keeps the filters).
    here: Option<(String, Option<String>)>,
}

const ADMIN_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/admin/panels",
        label_key: "nav.panels",
    },
    NavItem {
        href: "/admin/resellers",
        label_key: "nav.resellers",
    },
    NavItem {
        href: "/admin/topups",
        label_key: "nav.topups",
    },
    NavItem {
        href: "/admin/operations",
        label_key: "nav.operations",
    },
    NavItem {
        href: "/admin/sync",
        label_key: "nav.sync",
    },
    NavItem {
        href: "/admin/reports",
        label_key: "nav.reports",
    },
    NavItem {
        href: "/admin/audit",
        label_key: "nav.audit",
    },
    NavItem {
        href: "/admin/settings",
        label_key: "nav.settings",
    },
    NavItem {
        href: "/admin/admins",
        label_key: "nav.admins",
    },
    NavItem {
        href: "/tokens",
        label_key: "nav.tokens",
    },
    NavItem {
        href: "/account/password",
        label_key: "nav.account",
    },
];

const RESELLER_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/configs",
        label_key: "nav.configs",
    },
    NavItem {
        href: "/wallet",
        label_key: "nav.wallet",
    },
    NavItem {
        href: "/usage",
        label_key: "nav.usage",
    },
    NavItem {
        href: "/tokens",
        label_key: "nav.tokens",
    },
    NavItem {
        href: "/account/password",
        label_key: "nav.account",
    },
];

/// A suspended reseller's menu: what still opens (the dashboard says why the rest is closed).
const BLOCKED_WALLET_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/wallet",
        label_key: "nav.wallet",
    },
    NavItem {
        href: "/usage",
        label_key: "nav.usage",
    },
];

const BLOCKED_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/usage",
        label_key: "nav.usage",
    },
];

/// A traffic reseller has no wallet: the same menu without it.
const TRAFFIC_RESELLER_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/configs",
        label_key: "nav.configs",
    },
    NavItem {
        href: "/usage",
        label_key: "nav.usage",
    },
    NavItem {
        href: "/tokens",
        label_key: "nav.tokens",
    },
    NavItem {
        href: "/account/password",
        label_key: "nav.account",
    },
];

impl Shell {
    pub fn new(
        loc: Locale,
        user: Option<CurrentUser>,
        path: &str,
        title_key: &'static str,
    ) -> Shell {
        let csrf = user
            .as_ref()
            .and_then(|u| u.csrf.clone())
            .unwrap_or_default();
        let ctx = request_context::current();
        Shell {
            loc,
            user,
            csrf,
            path: path.to_string(),
            title_key,
            flash: ctx.flash,
            // A page re-rendered after a POST (a form with errors) has no address of its own to
            // reload: its language links go to the page's own path instead.
            here: (ctx.is_get && !ctx.path.is_empty()).then_some((ctx.path, ctx.query)),
        }
    }

    /// This page in another language, with its query (filters, page) kept.
    pub fn lang_href(&self, lang: &str) -> String {
        let (path, query) = match &self.here {
            Some((p, q)) => (p.as_str(), q.as_deref()),
            None => (self.path.as_str(), None),
        };
        let mut pairs: Vec<(String, String)> = query
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        pairs.retain(|(k, _)| k != "lang");
        pairs.push(("lang".into(), lang.into()));
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    /// The page's `<title>`: its own name, then the product's.
    pub fn title(&self) -> String {
        format!("{} · {}", self.t(self.title_key), self.t("app.name"))
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.loc.t(key)
    }

    pub fn nav(&self) -> &'static [NavItem] {
        match &self.user {
            Some(u) if u.is_admin() => ADMIN_NAV,
            Some(u) => {
                let wallet = u.reseller_kind == Some(domain::status::ResellerKind::Wallet);
                match (u.reseller_blocked, wallet) {
                    (true, true) => BLOCKED_WALLET_NAV,
                    (true, false) => BLOCKED_NAV,
                    (false, true) => RESELLER_NAV,
                    (false, false) => TRAFFIC_RESELLER_NAV,
                }
            }
            None => &[],
        }
    }

    pub fn is_current(&self, href: &str) -> bool {
        if href == "/" {
            self.path == "/"
        } else {
            self.path.starts_with(href)
        }
    }

    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.username.as_str())
            .unwrap_or("")
    }

    pub fn role_key(&self) -> &'static str {
        match &self.user {
            Some(u) if u.is_admin() => "role.admin",
            _ => "role.reseller",
        }
    }
}

//! The frame every page shares: locale, signed-in user, CSRF token and navigation.
//! Page structs embed a `Shell` so `base.html` can render the layout around them.

use crate::auth::CurrentUser;
use crate::locale::Locale;

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
        href: "/tokens",
        label_key: "nav.tokens",
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
        Shell {
            loc,
            user,
            csrf,
            path: path.to_string(),
            title_key,
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.loc.t(key)
    }

    pub fn nav(&self) -> &'static [NavItem] {
        match &self.user {
            Some(u) if u.is_admin() => ADMIN_NAV,
            Some(_) => RESELLER_NAV,
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

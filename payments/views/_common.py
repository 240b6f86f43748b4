from billing_site.roles import ALL, FINANCE_ADMIN

READ = ALL
WRITE = FINANCE_ADMIN

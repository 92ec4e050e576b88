"""Zoonoses (issue 16 part 6): brucellosis and echinococcosis exposures per resident and screening campaigns
by village, with the by-village summary and its xlsx export."""

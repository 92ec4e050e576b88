"""How a bureau steers (issue 18), the last domain: the hazard ledger (隐患排查整改, hazards/), practical projects
against the calendar (为民办实事, 序时进度, projects/) and the areas of issue 18 parts 3–6. Other domains reach it
through `service`; it reads the ones below it (orgunits, indicators) through theirs."""

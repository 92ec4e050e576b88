"""How a bureau steers (issue 18), the last domain: the hazard ledger (隐患排查整改, hazards/), practical projects
against the calendar (为民办实事, 序时进度, projects/) and the areas of issue 18 parts 3–6: facility
standardisation (standards/), the equipment registry starting with AEDs (equipment/), training and outreach
counts (training/) and voluntary blood donation (blood/). Other domains reach it through `service`; it reads
the ones below it (orgunits, residents, indicators) through theirs."""

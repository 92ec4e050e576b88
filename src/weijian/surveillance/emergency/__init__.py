"""Public-health emergencies (突发公共卫生事件, issue 16 part 7): events with grade, the 2-hour report and a
timeline; response teams and members; deployments; drills; reserve supplies."""

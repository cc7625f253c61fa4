"""The projector: consume the saga's topics and fold each batch into the read models of
the apps (each app's ``projection.py``), store dead letters for operations, note failed
attempts in order timelines, and broadcast what changed to the dashboard's channel-layer
group. Above the apps it folds into; nothing but the dashboard and the composition root
import it."""

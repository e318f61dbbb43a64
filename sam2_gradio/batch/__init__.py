"""Many projects propagated in one command, on this machine or on a Ray cluster (an optional extra).

    python -m sam2_gradio.batch projects/*                      # in this process, one project at a time
    python -m sam2_gradio.batch projects/* --ray-address auto   # one actor per GPU of a Ray cluster

`work` says what one project is to do (`ProjectJob`) and does it (`track_job`: open, adopt the recipe's
prompts, track into the store, an outcome); `runner` runs a list of jobs in process or hands it to
`ray_pool`, whose actors each hold one model and take one project at a time, Ray restarting a lost
worker and retrying its project, which continues from its last checkpoint; `progress_view` draws them.
Nothing else in the package imports this one, and only `ray_pool` imports Ray.
"""

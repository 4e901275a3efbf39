"""Triggers of the provider: the deferrable sensor's wait and the event trigger of asset watchers."""

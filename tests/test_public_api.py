import graphsvc


def test_public_surface_is_locked():
    assert sorted(graphsvc.__all__) == ["GraphsvcError", "Service", "__version__", "open"]


def test_exceptions_share_one_root():
    from graphsvc import errors

    for name in ("ConfigurationError", "ContractError", "MappingError", "StoreError", "KeyCollisionError",
                 "NotFoundError", "MissingExtraError"):
        assert issubclass(getattr(errors, name), errors.GraphsvcError)

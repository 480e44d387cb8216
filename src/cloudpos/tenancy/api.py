"""Sign-up, merchant settings, stores and terminals."""

from __future__ import annotations

import uuid

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.tenancy import service
from cloudpos.tenancy.schemas import (
    MerchantOut,
    SettingsPatch,
    SignupIn,
    SignupOut,
    StoreIn,
    StoreOut,
    StorePatch,
    TerminalIn,
    TerminalOut,
)
from cloudpos.web.deps import authenticated, client_ip, get_db, public, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["merchant"])


@router.post("/signup", status_code=201, response_model=SignupOut, dependencies=[Depends(public())])
def signup(data: SignupIn, request: Request, db: Session = Depends(get_db)) -> SignupOut:
    return service.signup(db, data, ip=client_ip(request))


@router.get("/merchant", response_model=MerchantOut)
def get_merchant(actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)) -> MerchantOut:
    return service.merchant(db, actor)


@router.patch("/merchant/settings", response_model=MerchantOut)
def patch_settings(data: SettingsPatch, actor: Actor = Depends(requires("settings.manage")),
                   db: Session = Depends(get_db)) -> MerchantOut:
    return service.update_settings(db, actor, data)


@router.get("/stores", response_model=list[StoreOut])
def list_stores(actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)) -> list[StoreOut]:
    return service.list_stores(db, actor)


@router.post("/stores", status_code=201, response_model=StoreOut)
def create_store(data: StoreIn, actor: Actor = Depends(requires("store.manage")),
                 db: Session = Depends(get_db)) -> StoreOut:
    return service.create_store(db, actor, data)


@router.get("/stores/{store_id}", response_model=StoreOut)
def get_store(store_id: uuid.UUID, actor: Actor = Depends(authenticated()),
              db: Session = Depends(get_db)) -> StoreOut:
    return service.store_out(service.get_store(db, actor, store_id))


@router.patch("/stores/{store_id}", response_model=StoreOut)
def patch_store(store_id: uuid.UUID, data: StorePatch, actor: Actor = Depends(requires("store.manage")),
                db: Session = Depends(get_db)) -> StoreOut:
    return service.update_store(db, actor, store_id, data)


@router.get("/terminals", response_model=list[TerminalOut])
def list_terminals(store_id: uuid.UUID | None = None, actor: Actor = Depends(authenticated()),
                   db: Session = Depends(get_db)) -> list[TerminalOut]:
    return service.list_terminals(db, actor, store_id)


@router.post("/terminals", status_code=201, response_model=TerminalOut)
def create_terminal(data: TerminalIn, actor: Actor = Depends(requires("store.manage")),
                    db: Session = Depends(get_db)) -> TerminalOut:
    return service.create_terminal(db, actor, data)
